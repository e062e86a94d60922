#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ZooFormats
import ZooTensor

/// The three places a GPT-2 tokenizer comes from: Hugging Face's tokenizer.json, the original
/// vocab.json + merges.txt pair, and the `tokenizer.ggml.*` metadata of a GGUF file.
extension GPT2Tokenizer {
    /// Loads `folder/tokenizer.json` if present, else `folder/vocab.json` + `folder/merges.txt`.
    public static func load(folder: String) throws -> GPT2Tokenizer {
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        let tokenizerJSON = base + "/tokenizer.json"
        if fileExists(tokenizerJSON) {
            let file = try MappedFile(path: tokenizerJSON)
            let root = try JSON.parse(file.bytes, what: "tokenizer.json", path: tokenizerJSON)
            return try GPT2Tokenizer(tokenizerJSON: root, path: tokenizerJSON)
        }
        let vocabPath = base + "/vocab.json", mergesPath = base + "/merges.txt"
        let missing = [vocabPath, mergesPath].filter { !fileExists($0) }
        if !missing.isEmpty {
            throw ZooError("no tokenizer: expected tokenizer.json, or vocab.json and merges.txt; missing \(missing.joined(separator: " and "))", path: folder)
        }
        let vocabFile = try MappedFile(path: vocabPath)
        let vocab = try JSON.parse(vocabFile.bytes, what: "vocab.json", path: vocabPath)
        let mergesFile = try MappedFile(path: mergesPath)
        guard let merges = String(validating: mergesFile.bytes, as: UTF8.self) else {
            throw ZooError("merges.txt is not valid UTF-8", path: mergesPath)
        }
        return try GPT2Tokenizer(vocab: vocab, vocabPath: vocabPath, merges: merges, mergesPath: mergesPath)
    }

    private static func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    // MARK: vocab.json + merges.txt

    /// From the contents of vocab.json (an object token -> id) and merges.txt. Without a
    /// tokenizer.json to say which tokens are special, vocabulary entries of the form `<|...|>`
    /// (GPT-2's `<|endoftext|>`) are treated as special, as GPT2TokenizerFast does with its
    /// default special tokens.
    public convenience init(vocabJSON: String, mergesTXT: String) throws {
        let vocab = try JSON.parse(vocabJSON, what: "vocab.json")
        try self.init(vocab: vocab, vocabPath: nil, merges: mergesTXT, mergesPath: nil)
    }

    convenience init(vocab: JSONValue, vocabPath: String?, merges: String, mergesPath: String?) throws {
        let idOf = try GPT2Tokenizer.vocabulary(vocab, what: "vocab.json", path: vocabPath)
        let tokens = try GPT2Tokenizer.denseTokens(idOf, what: "vocab.json", path: vocabPath)
        let special = Set(idOf.filter { $0.key.count >= 4 && $0.key.hasPrefix("<|") && $0.key.hasSuffix("|>") }.map(\.value))
        let pairs = try GPT2Tokenizer.parseMergesTXT(merges, path: mergesPath)
        try self.init(tokens: tokens, special: special, mergePairs: pairs, addPrefixSpace: false,
                      endOfTextId: nil, what: "vocab.json", path: vocabPath)
    }

    /// merges.txt: an optional first line `#version: ...`, then one merge per line, `left right`
    /// (exactly one space), rank = order. A final newline is allowed; CRLF line ends are accepted.
    static func parseMergesTXT(_ text: String, path: String?) throws -> [(left: String, right: String, location: String)] {
        // Split on scalars, not Characters: "\r\n" is one Character, and a space followed by a
        // combining mark would be too.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var pairs: [(left: String, right: String, location: String)] = []
        pairs.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = String(rawLine.last == "\r" ? rawLine.dropLast() : rawLine)
            if line.hasPrefix("#version") { continue }
            let location = "merges.txt line \(index + 1)"
            guard let pair = splitMerge(line) else {
                throw ZooError("\(location): expected two tokens separated by one space, found \"\(line.prefix(80))\"", path: path)
            }
            pairs.append((pair.left, pair.right, location))
        }
        return pairs
    }

    /// "left right" -> (left, right): exactly one U+0020, both sides non-empty. Byte-level tokens
    /// never contain a real space (it is written `Ġ`), so the split is unambiguous.
    static func splitMerge(_ line: String) -> (left: String, right: String)? {
        let parts = line.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    // MARK: tokenizer.json

    /// From the contents of a Hugging Face tokenizer.json whose model is BPE with the ByteLevel
    /// pre-tokenizer (GPT-2's). Other pipelines are refused rather than tokenized differently.
    public convenience init(tokenizerJSON: String) throws {
        let root = try JSON.parse(tokenizerJSON, what: "tokenizer.json")
        try self.init(tokenizerJSON: root, path: nil)
    }

    convenience init(tokenizerJSON root: JSONValue, path: String?) throws {
        let what = "tokenizer.json"
        func fail(_ message: String) -> ZooError { ZooError("\(what): \(message)", path: path) }
        guard root.object != nil else { throw fail("expected a JSON object at the top level") }
        guard let model = root["model"], model.object != nil else { throw fail("has no \"model\" object") }
        if let type = model["type"], type.string != "BPE" {
            throw fail("model type is \(describe(type)); GPT2Tokenizer reads only \"BPE\"")
        }
        if let dropout = model["dropout"], dropout != .null {
            throw fail("model.dropout is \(describe(dropout)); only null (no BPE dropout) is supported")
        }
        if model["byte_fallback"]?.bool == true { throw fail("model.byte_fallback is true; not supported by byte-level BPE") }
        if model["ignore_merges"]?.bool == true { throw fail("model.ignore_merges is true; not supported (GPT-2 merges every word)") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], v != .null, v.string != "" { throw fail("model.\(key) is \(describe(v)); only empty is supported") }
        }
        if let normalizer = root["normalizer"], normalizer != .null {
            throw fail("has a normalizer (\(describe(normalizer["type"] ?? .null))); GPT-2 has none and none is implemented")
        }
        guard let pre = root["pre_tokenizer"], pre["type"]?.string == "ByteLevel" else {
            throw fail("pre_tokenizer is \(describe(root["pre_tokenizer"]?["type"] ?? root["pre_tokenizer"] ?? .null)); GPT2Tokenizer implements only ByteLevel (GPT-2's regex)")
        }
        if pre["use_regex"]?.bool == false { throw fail("pre_tokenizer.use_regex is false; only GPT-2's regex is implemented") }
        let addPrefixSpace = pre["add_prefix_space"]?.bool ?? false

        guard let vocab = model["vocab"] else { throw fail("model has no \"vocab\"") }
        var idOf = try GPT2Tokenizer.vocabulary(vocab, what: "\(what) model.vocab", path: path)
        var special = Set<Int>()
        var tokenOf = Dictionary(idOf.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        if let added = root["added_tokens"], added != .null {
            guard let entries = added.array else { throw fail("added_tokens is \(describe(added)), expected an array") }
            for (i, entry) in entries.enumerated() {
                guard let content = entry["content"]?.string, let id = entry["id"]?.int else {
                    throw fail("added_tokens[\(i)] needs a string \"content\" and an integer \"id\"")
                }
                if let existing = idOf[content], existing != id {
                    throw fail("added token \"\(content)\" has id \(id) but the vocabulary gives it \(existing)")
                }
                if let holder = tokenOf[id], holder != content {
                    throw fail("added token \"\(content)\" has id \(id), which is already \"\(holder)\"")
                }
                if id < 0 { throw fail("added token \"\(content)\" has the negative id \(id)") }
                idOf[content] = id
                tokenOf[id] = content
                special.insert(id)
            }
        }
        let tokens = try GPT2Tokenizer.denseTokens(idOf, what: what, path: path)

        guard let mergesValue = model["merges"], let merges = mergesValue.array else {
            throw fail("model.merges is missing or not an array")
        }
        var pairs: [(left: String, right: String, location: String)] = []
        pairs.reserveCapacity(merges.count)
        for (i, merge) in merges.enumerated() {
            let location = "\(what) model.merges[\(i)]"
            // Two spellings: "left right" (older files) or ["left", "right"] (tokenizers >= 0.20).
            if let text = merge.string {
                guard let pair = GPT2Tokenizer.splitMerge(text) else {
                    throw ZooError("\(location): expected \"left right\" with one space, found \"\(text.prefix(80))\"", path: path)
                }
                pairs.append((pair.left, pair.right, location))
            } else if let pair = merge.array, pair.count == 2, let left = pair[0].string, let right = pair[1].string,
                      !left.isEmpty, !right.isEmpty {
                pairs.append((left, right, location))
            } else {
                throw ZooError("\(location): expected a string \"left right\" or a pair of strings, found \(describe(merge))", path: path)
            }
        }
        try self.init(tokens: tokens, special: special, mergePairs: pairs, addPrefixSpace: addPrefixSpace,
                      endOfTextId: nil, what: what, path: path)
    }

    // MARK: GGUF

    /// From a GGUF file's tokenizer metadata: `tokenizer.ggml.model` must be "gpt2";
    /// `tokenizer.ggml.tokens` (index = id), `tokenizer.ggml.merges` (rank order, "left right"),
    /// optional `tokenizer.ggml.token_type` (3 control and 4 user-defined are split out of the text
    /// as special tokens) and `tokenizer.ggml.eos_token_id`.
    public convenience init(gguf reader: GGUFReader) throws {
        let path = reader.path
        func fail(_ message: String) -> ZooError { ZooError(message, path: path) }
        guard let modelValue = reader.metadataValue("tokenizer.ggml.model") else {
            throw fail("no tokenizer: metadata key tokenizer.ggml.model is missing")
        }
        guard let model = modelValue.string else { throw fail("tokenizer.ggml.model is a \(modelValue.type.name), expected a string") }
        if model != "gpt2" { throw fail("tokenizer.ggml.model is \"\(model)\"; GPT2Tokenizer reads only \"gpt2\" (byte-level BPE)") }
        if let pre = reader.metadataValue("tokenizer.ggml.pre")?.string, pre != "gpt-2", pre != "default" {
            throw fail("tokenizer.ggml.pre is \"\(pre)\"; only GPT-2's pre-tokenizer (\"gpt-2\") is implemented")
        }
        func strings(_ key: String) throws -> [String] {
            guard let value = reader.metadataValue(key) else { throw fail("metadata key \(key) is missing") }
            guard let array = value.array, let strings = array.strings() else {
                throw fail("\(key) is \(value.type == .array ? "an array of \(value.array?.elementType.name ?? "?")" : "a \(value.type.name)"), expected an array of strings")
            }
            return strings
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let mergeLines = try strings("tokenizer.ggml.merges")
        var special = Set<Int>()
        if let typeValue = reader.metadataValue("tokenizer.ggml.token_type") {
            guard let types = typeValue.array?.integers() else {
                throw fail("tokenizer.ggml.token_type is not an array of integers")
            }
            if types.count != tokens.count {
                throw fail("tokenizer.ggml.token_type has \(types.count) entries, expected one per token (\(tokens.count))")
            }
            for (id, type) in types.enumerated() where type == 3 || type == 4 { special.insert(id) }
        }
        var pairs: [(left: String, right: String, location: String)] = []
        pairs.reserveCapacity(mergeLines.count)
        for (i, line) in mergeLines.enumerated() {
            let location = "tokenizer.ggml.merges[\(i)]"
            guard let pair = GPT2Tokenizer.splitMerge(line) else {
                throw fail("\(location): expected two tokens separated by one space, found \"\(line.prefix(80))\"")
            }
            pairs.append((pair.left, pair.right, location))
        }
        var eos: Int? = nil
        if let value = reader.metadataValue("tokenizer.ggml.eos_token_id") {
            guard let id = value.int, id >= 0, id < tokens.count else {
                throw fail("tokenizer.ggml.eos_token_id is \(value.summary), expected an id below \(tokens.count)")
            }
            eos = id
        }
        try self.init(tokens: tokens, special: special, mergePairs: pairs, addPrefixSpace: false,
                      endOfTextId: tokens.firstIndex(of: "<|endoftext|>") ?? eos, what: "tokenizer.ggml.tokens", path: path)
    }

    // MARK: shared checks

    /// A JSON object token -> integer id, with each id in range and used once.
    static func vocabulary(_ value: JSONValue, what: String, path: String?) throws -> [String: Int] {
        guard let members = value.object else {
            throw ZooError("\(what): expected a JSON object mapping token strings to ids, found \(describe(value))", path: path)
        }
        var idOf: [String: Int] = [:]
        idOf.reserveCapacity(members.count)
        var tokenOf: [Int: String] = [:]
        tokenOf.reserveCapacity(members.count)
        for (token, idValue) in members {
            guard let id = idValue.int else {
                throw ZooError("\(what): the id of \"\(token)\" is \(describe(idValue)), expected an integer", path: path)
            }
            // Too large an id is reported by denseTokens, once added tokens are counted in.
            if id < 0 { throw ZooError("\(what): the id of \"\(token)\" is \(id), expected 0 or more", path: path) }
            if let other = tokenOf.updateValue(token, forKey: id) {
                throw ZooError("\(what): id \(id) is given to both \"\(other)\" and \"\(token)\"", path: path)
            }
            idOf[token] = id
        }
        return idOf
    }

    /// The token strings indexed by id; the ids must be exactly 0..<count.
    static func denseTokens(_ idOf: [String: Int], what: String, path: String?) throws -> [String] {
        var tokens = [String?](repeating: nil, count: idOf.count)
        for (token, id) in idOf {
            guard id < idOf.count else {
                throw ZooError("\(what): token \"\(token)\" has id \(id), but the \(idOf.count) tokens must have ids 0...\(idOf.count - 1)", path: path)
            }
            tokens[id] = token
        }
        // Distinct ids below count fill every slot, so no nil remains.
        return tokens.map { $0 ?? "" }
    }
}

/// A short description of a JSON value for error messages: its kind, and the value if short.
private func describe(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return "the boolean \(b)"
    case .int(let v): return "the number \(v)"
    case .uint(let v): return "the number \(v)"
    case .double(let v): return "the number \(v)"
    case .string(let s): return "\"\(s.prefix(40))\""
    case .array(let a): return "an array of \(a.count)"
    case .object: return "an object"
    }
}
