import CJSONC

/// A parsed JSON value. Objects keep their key order (as written in the file).
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)  // only for integers above Int64.max
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.uint(x), .uint(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first(where: { $0.0 == key })?.1 }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }

    /// An integer that fits Int (a double with an integral value also counts, as Python writes 1e-05 but also 2.0).
    public var int: Int? {
        switch self {
        case .int(let v): return Int(exactly: v)
        case .uint(let v): return Int(exactly: v)
        case .double(let v): return v.rounded() == v && abs(v) < 9.0e15 ? Int(v) : nil
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// JSON parsing through json-c (strict mode), with a depth cap and duplicate-key detection,
/// which json-c itself does not do (it keeps the last value).
public enum JSON {
    public static let maxDepth: Int32 = 64

    public static func parse(_ bytes: UnsafeRawBufferPointer, what: String = "JSON", path: String? = nil) throws -> JSONValue {
        let duplicate: String?
        do { duplicate = try DuplicateKeyScanner.firstDuplicate(bytes) } catch let e as ZooError {
            throw ZooError("\(what) is not valid JSON: \(e.message)", path: path)
        }
        if let duplicate { throw ZooError("\(what) has the key \"\(duplicate)\" twice", path: path) }
        guard let tokener = json_tokener_new_ex(maxDepth) else { throw ZooError("out of memory parsing \(what)", path: path) }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT)
        if bytes.count > Int(Int32.max) { throw ZooError("\(what) of \(bytes.count) bytes is too large", path: path) }
        var empty: CChar = 0
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let object = withUnsafePointer(to: &empty) { json_tokener_parse_ex(tokener, base ?? $0, Int32(bytes.count)) }
        let status = json_tokener_get_error(tokener)
        if status != json_tokener_success {
            let reason = String(cString: json_tokener_error_desc(status))
            if let object { json_object_put(object) }
            throw ZooError("\(what) is not valid JSON: \(reason) near byte \(json_tokener_get_parse_end(tokener))", path: path)
        }
        // Only whitespace may follow the value (safetensors pads its header with spaces).
        let end = json_tokener_get_parse_end(tokener)
        for i in end..<bytes.count where ![0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
            if let object { json_object_put(object) }
            throw ZooError("\(what) has trailing bytes after the JSON value at byte \(i)", path: path)
        }
        defer { if let object { json_object_put(object) } }
        return convert(object)
    }

    public static func parse(_ text: String, what: String = "JSON", path: String? = nil) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0), what: what, path: path) }
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_int:
            let signed = json_object_get_int64(object)
            if signed == Int64.max {
                let unsigned = json_object_get_uint64(object)
                if unsigned > UInt64(Int64.max) { return .uint(unsigned) }
            }
            return .int(signed)
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let pointer = json_object_get_string(object) else { return .string("") }
            let raw = UnsafeRawBufferPointer(start: pointer, count: length)
            return .string(String(decoding: raw, as: UTF8.self))
        case json_type_array:
            let n = json_object_array_length(object)
            var items: [JSONValue] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(convert(json_object_array_get_idx(object, i))) }
            return .array(items)
        case json_type_object:
            var members: [(String, JSONValue)] = []
            var it = json_object_iter_begin(object)
            let end = json_object_iter_end(object)
            var endIt = end
            while json_object_iter_equal(&it, &endIt) == 0 {
                let key = String(cString: json_object_iter_peek_name(&it))
                members.append((key, convert(json_object_iter_peek_value(&it))))
                json_object_iter_next(&it)
            }
            return .object(members)
        default: return .null
        }
    }
}

/// Finds the first object key that appears twice within one object, by a structural scan of the
/// raw text (strings, braces, brackets). Keys are compared as written (escapes not decoded).
/// Also rejects single-quoted strings, which json-c accepts even in strict mode.
enum DuplicateKeyScanner {
    static func firstDuplicate(_ bytes: UnsafeRawBufferPointer) throws -> String? {
        var stack: [(isObject: Bool, keys: Set<[UInt8]>)] = []
        var i = 0
        let n = bytes.count
        var expectKey = false
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"):
                stack.append((true, [])); expectKey = true
                if stack.count > 1024 { return nil }  // json-c's depth cap reports this properly
            case UInt8(ascii: "["):
                stack.append((false, [])); expectKey = false
                if stack.count > 1024 { return nil }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = stack.last?.isObject ?? false
            case UInt8(ascii: "'"):
                // json-c's strict mode still accepts single-quoted strings; JSON does not.
                throw ZooError("JSON has a single-quoted string at byte \(i)")
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < n && bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                if j >= n { return nil }  // unterminated: json-c reports it
                if expectKey, !stack.isEmpty {
                    let key = Array(bytes[(i + 1)..<j])
                    if !stack[stack.count - 1].keys.insert(key).inserted {
                        return String(decoding: key, as: UTF8.self)
                    }
                }
                expectKey = false
                i = j
            default: break
            }
            i += 1
        }
        return nil
    }
}
