import ZooTensor

/// Bounds on numeric options, checked before a value reaches arithmetic, a range or an
/// allocation: `--threads 3000000000`, `--batch -1` or `--max-tokens 9223372036854775807` are a
/// named error, not a trap (Int32 conversion, `0..<negative`, `prompt + max` overflowing).
enum ArgumentChecks {
    /// More threads than this is a typo, and the pool takes an Int32.
    static let maxThreads = 1024
    /// Token counts stay far from Int overflow when added to a prompt length (ids are Int32).
    static let maxTokens = Int(Int32.max)
    /// ViT batches: 1024 images of 224x224 are already about 600 MB of input pixels.
    static let maxBatch = 1024

    static func check(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ZooError("\(option) must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
    }

    /// `--threads`, when given (absent: all cores).
    static func threads(_ value: Int?) throws {
        if let value { try check(value, "--threads", 1...maxThreads) }
    }
}
