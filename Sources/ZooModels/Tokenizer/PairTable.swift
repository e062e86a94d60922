/// The merge table of `BPEModel`: (left id, right id) -> (rank, merged id), as an open-addressing
/// hash table with a multiplicative hash. BPE looks up a pair for every merge and every new
/// neighbour, so this lookup is the inner loop; Swift's Dictionary (SipHash, generic) costs
/// several times more.
struct PairTable: Sendable {
    /// Keys `left << 32 | right`; `empty` marks a free slot (no real key has all bits set, since
    /// ids are below Int32.max).
    private var keys: [UInt64]
    /// `rank << 32 | merged id` for the key in the same slot.
    private var values: [UInt64]
    private let mask: Int
    private let shift: UInt64
    private(set) var count = 0

    static let empty = UInt64.max

    init(capacityFor entries: Int) {
        var slots = 16
        while slots < entries * 2 { slots *= 2 }  // load factor at most 1/2: short probe runs
        keys = [UInt64](repeating: PairTable.empty, count: slots)
        values = [UInt64](repeating: 0, count: slots)
        mask = slots - 1
        shift = UInt64(64 - slots.trailingZeroBitCount)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        // Fibonacci hashing: the top bits of key * 2^64/phi.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Inserts or replaces (a later merge of the same pair replaces the earlier one).
    mutating func set(_ key: UInt64, _ value: UInt64) {
        var i = slot(key)
        while keys[i] != PairTable.empty && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == PairTable.empty { count += 1 }
        keys[i] = key
        values[i] = value
    }

    @inline(__always)
    func get(_ key: UInt64) -> UInt64? {
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == PairTable.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
