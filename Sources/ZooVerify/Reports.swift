import ZooTensor

/// Text, JSON and JUnit renderings of verify reports. The JSON schema is in formats/verify-report.md.
public enum Reports {
    static func sci(_ v: Double?) -> String {
        guard let v else { return "-" }
        if v == 0 { return "0" }
        if v.isNaN || v.isInfinite { return "\(v)" }
        var exponent = 0
        var m = abs(v)
        while m >= 10 { m /= 10; exponent += 1 }
        while m < 1 { m *= 10; exponent -= 1 }
        let mantissa = (m * 10).rounded() / 10
        return (v < 0 ? "-" : "") + "\(mantissa)e\(exponent)"
    }

    static func pct(_ v: Double?) -> String {
        guard let v else { return "-" }
        return "\((v * 1000).rounded() / 10)%"
    }

    /// One table row per fixture, then the failures explained.
    public static func table(_ reports: [VerifyReport]) -> String {
        var lines = ["fixture                                   dtype  max_abs   max_rel   tol       cosine     mean_KL   top1    result"]
        for r in reports {
            let s = r.summary
            let name = r.fixture.split(separator: "/").suffix(2).joined(separator: "/")
            let padded = name.count >= 40 ? String(name.suffix(40)) : name + String(repeating: " ", count: 40 - name.count)
            let cos = String(format6(s.cosine))
            lines.append("\(padded)  \(pad(r.dtype, 5))  \(pad(sci(s.maxAbs), 8))  \(pad(sci(s.maxRel), 8))  \(pad(sci(r.tolerance.maxRel), 8))  \(pad(cos, 9))  \(pad(sci(s.meanKL), 8))  \(pad(pct(s.top1), 6))  \(r.passed ? "pass" : "FAIL")")
        }
        // which KV caches each dtype's text rows used: q8_0 defaults to f16 (as llama.cpp does), and
        // stays f32 for a model none of whose layers can run int8 (widths not a multiple of 32)
        var kvByDType: [(dtype: String, caches: [String])] = []
        for r in reports {
            guard let kv = r.kvCache else { continue }
            if let i = kvByDType.firstIndex(where: { $0.dtype == r.dtype }) {
                if !kvByDType[i].caches.contains(kv) { kvByDType[i].caches.append(kv) }
            } else {
                kvByDType.append((r.dtype, [kv]))
            }
        }
        if !kvByDType.isEmpty {
            lines.append("KV cache of the text rows: " + kvByDType.map { "\($0.dtype) \($0.caches.joined(separator: " or "))" }.joined(separator: "; "))
        }
        for r in reports where !r.passed {
            for check in r.checks where !check.passed {
                let c = check.comparison
                var line = "FAIL \(r.fixture) (\(r.dtype)): \(check.name): max_rel \(sci(c.maxRel)) > \(sci(r.tolerance.maxRel)) (\(r.tolerance.source)); largest difference \(sci(c.maxAbs)) at position \(c.worstRow), index \(c.worstColumn)"
                if let first = check.firstDivergentLayer {
                    line += "; first divergent block: layer \(first.layer) (max_rel \(sci(first.maxRel)))"
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func format6(_ v: Double) -> String {
        let scaled = (v * 1_000_000).rounded() / 1_000_000
        return "\(scaled)"
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    static func number(_ v: Double?) -> JSONValue {
        guard let v else { return .null }
        return v.isFinite ? .double(v) : .string("\(v)")
    }

    static func comparisonJSON(_ c: Comparison) -> [(String, JSONValue)] {
        [("max_abs", number(c.maxAbs)), ("max_rel", number(c.maxRel)), ("cosine", number(c.cosine)),
         ("mean_kl", number(c.meanKL)), ("max_kl", number(c.maxKL)), ("top1", number(c.top1)), ("rows", .int(Int64(c.rows)))]
    }

    public static func json(_ reports: [VerifyReport]) -> JSONValue {
        .object([
            ("zoo_verify", .int(1)),
            ("passed", .bool(reports.allSatisfy(\.passed))),
            ("results", .array(reports.map { r in
                .object([
                    ("fixture", .string(r.fixture)), ("model", .string(r.model)), ("dtype", .string(r.dtype)),
                    ("reference", .string(r.reference)),
                    ("kv_cache", r.kvCache.map { .string($0) } ?? .null),
                    ("tolerance", .object([("max_rel", number(r.tolerance.maxRel)), ("source", .string(r.tolerance.source))])),
                    ("passed", .bool(r.passed)),
                    ("summary", .object(comparisonJSON(r.summary))),
                    ("outputs", .array(r.checks.map { check in
                        .object([("name", .string(check.name)), ("passed", .bool(check.passed))] + comparisonJSON(check.comparison) + [
                            ("worst", .object([("position", .int(Int64(check.comparison.worstRow))), ("index", .int(Int64(check.comparison.worstColumn)))])),
                            ("layer_max_rel", .array(check.layerMaxRel.map { number($0) })),
                            ("first_divergent_layer", check.firstDivergentLayer.map { .object([("layer", .int(Int64($0.layer))), ("max_rel", number($0.maxRel))]) } ?? .null),
                        ])
                    })),
                ])
            })),
        ])
    }

    static func xmlEscape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters even when escaped.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r" { out += "?" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// JUnit XML: one testsuite, one testcase per fixture and dtype.
    public static func junit(_ reports: [VerifyReport], seconds: Double) -> String {
        let failures = reports.filter { !$0.passed }.count
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"zoo verify\" tests=\"\(reports.count)\" failures=\"\(failures)\" time=\"\(seconds)\">\n"
        xml += "  <testsuite name=\"zoo verify\" tests=\"\(reports.count)\" failures=\"\(failures)\" errors=\"0\" time=\"\(seconds)\">\n"
        for r in reports {
            let s = r.summary
            xml += "    <testcase classname=\"\(xmlEscape(r.model))\" name=\"\(xmlEscape(r.fixture)) [\(r.dtype)]\">\n"
            xml += "      <system-out>\(xmlEscape("max_rel=\(sci(s.maxRel)) max_abs=\(sci(s.maxAbs)) cosine=\(s.cosine) mean_kl=\(sci(s.meanKL)) top1=\(pct(s.top1))"))</system-out>\n"
            if !r.passed {
                let message = table([r]).split(separator: "\n").filter { $0.hasPrefix("FAIL") }.joined(separator: "\n")
                xml += "      <failure message=\"\(xmlEscape(String(message.prefix(400))))\" type=\"tolerance\">\(xmlEscape(message))</failure>\n"
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }
}
