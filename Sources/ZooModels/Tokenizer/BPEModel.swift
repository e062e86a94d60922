import ZooTensor

/// Byte-level BPE over integer symbols: a word (one pre-tokenizer piece, as UTF-8 bytes) starts as
/// one symbol per byte (the id of that byte's alphabet character) and the adjacent pair with the
/// lowest merge rank is merged, leftmost first, until no adjacent pair has a rank.
///
/// This is Hugging Face tokenizers' order (a priority queue on (rank, position)). For a merges list
/// where every merge's parts exist before it (all real ones), it equals OpenAI's `bpe` ("merge every
/// occurrence of the best pair, left to right"): merging one occurrence never creates a pair of a
/// lower rank, so the other occurrences are next.
///
/// Every merge must produce a vocabulary token (checked at load, as Hugging Face does), so the final
/// symbols are always vocabulary ids and llama.cpp's "unknown symbol -> one token per byte" fallback
/// is already the starting state. The one unknown left is a byte whose alphabet character is not in
/// the vocabulary (never the case for GPT-2's): that byte is dropped, as Hugging Face's BPE without
/// an `unk_token` drops it.
struct BPEModel: Sendable {
    /// The id of each byte's single-character token, -1 when the vocabulary lacks it.
    let byteTokens: [Int32]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let pairs: PairTable

    static let noRank = UInt32.max

    /// - vocabulary: token string -> id for the ordinary (byte-level) tokens.
    /// - merges: (left, right, where) in rank order; `where` names the line for errors.
    /// Duplicate merges: the later rank wins, as in Hugging Face and OpenAI's encoder.py (both
    /// build a dictionary from the list).
    init(vocabulary: [String: Int], merges: [(left: String, right: String, location: String)], path: String?) throws {
        var byteTokens = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            guard let scalar = Unicode.Scalar(ByteLevelAlphabet.scalarForByte[b]) else { continue }
            if let id = vocabulary[String(Character(scalar))] { byteTokens[b] = Int32(id) }
        }
        self.byteTokens = byteTokens
        var pairs = PairTable(capacityFor: merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let left = vocabulary[merge.left] else {
                throw ZooError("\(merge.location): the left part \"\(merge.left)\" of merge \"\(merge.left) \(merge.right)\" is not in the vocabulary", path: path)
            }
            guard let right = vocabulary[merge.right] else {
                throw ZooError("\(merge.location): the right part \"\(merge.right)\" of merge \"\(merge.left) \(merge.right)\" is not in the vocabulary", path: path)
            }
            guard let merged = vocabulary[merge.left + merge.right] else {
                throw ZooError("\(merge.location): the merged token \"\(merge.left + merge.right)\" of merge \"\(merge.left) \(merge.right)\" is not in the vocabulary", path: path)
            }
            if rank >= Int(BPEModel.noRank) { throw ZooError("more than \(BPEModel.noRank) merges", path: path) }
            pairs.set(UInt64(left) << 32 | UInt64(right), UInt64(rank) << 32 | UInt64(merged))
        }
        self.pairs = pairs
    }

    /// (rank, merged id) of a pair, or `noRank` when the pair never merges.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32) {
        guard let v = pairs.get(UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))) else {
            return (BPEModel.noRank, -1)
        }
        return (UInt32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }

    /// Appends the ids of one word to `out`.
    /// `shortWordLimit` chooses between the two equivalent merge loops (tests compare them).
    func encodeWord(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32], scratch: inout BPEScratch,
                    shortWordLimit: Int = BPEScratch.shortWord) {
        scratch.symbols.removeAll(keepingCapacity: true)
        for b in bytes {
            let id = byteTokens[Int(b)]
            if id >= 0 { scratch.symbols.append(id) }
        }
        if scratch.symbols.count <= 1 {
            out.append(contentsOf: scratch.symbols)
        } else if scratch.symbols.count <= shortWordLimit {
            mergeShort(&scratch)
            out.append(contentsOf: scratch.symbols)
        } else {
            mergeLong(&scratch, into: &out)
        }
    }

    /// Short words: keep the rank of every adjacent pair and scan for the smallest. Quadratic in the
    /// word length, but with no allocation and few dictionary lookups (two per merge).
    private func mergeShort(_ s: inout BPEScratch) {
        // symbols: [n] -> ranks/merged: [n-1], pair j = (symbols[j], symbols[j+1])
        s.ranks.removeAll(keepingCapacity: true)
        s.merged.removeAll(keepingCapacity: true)
        for j in 0..<(s.symbols.count - 1) {
            let (rank, merged) = lookup(s.symbols[j], s.symbols[j + 1])
            s.ranks.append(rank)
            s.merged.append(merged)
        }
        while true {
            var best = -1
            var bestRank = BPEModel.noRank
            for j in 0..<s.ranks.count where s.ranks[j] < bestRank {
                bestRank = s.ranks[j]
                best = j
            }
            if best < 0 { return }
            // symbols [.., a, b, ..] -> [.., ab, ..]; pair list loses the (a, b) entry.
            s.symbols[best] = s.merged[best]
            s.symbols.remove(at: best + 1)
            s.ranks.remove(at: best)
            s.merged.remove(at: best)
            if best > 0 {
                (s.ranks[best - 1], s.merged[best - 1]) = lookup(s.symbols[best - 1], s.symbols[best])
            }
            if best < s.ranks.count {
                (s.ranks[best], s.merged[best]) = lookup(s.symbols[best], s.symbols[best + 1])
            }
        }
    }

    /// Long words (a line of `=====`, a megabyte without spaces): a linked list of symbols and a
    /// min-heap of (rank, position) with stale entries skipped when popped, O(n log n).
    private func mergeLong(_ s: inout BPEScratch, into out: inout [Int32]) {
        let n = s.symbols.count
        var next = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = i + 1 < n ? Int32(i + 1) : -1 }
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = Int32(i - 1) }
            count = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            let rank = lookup(s.symbols[i], s.symbols[i + 1]).rank
            if rank != BPEModel.noRank { heap.push(UInt64(rank) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let rank = UInt32(truncatingIfNeeded: top >> 32)
            let i = Int(top & 0xFFFF_FFFF)
            guard alive[i], next[i] >= 0 else { continue }
            let j = Int(next[i])
            let (current, merged) = lookup(s.symbols[i], s.symbols[j])
            guard current == rank else { continue }  // stale: the pair at i has changed since
            // [.., a@i, b@j, c@k] -> [.., ab@i, c@k]
            s.symbols[i] = merged
            alive[j] = false
            let k = next[j]
            next[i] = k
            if k >= 0 { prev[Int(k)] = Int32(i) }
            let p = prev[i]
            if p >= 0 {
                let r = lookup(s.symbols[Int(p)], merged).rank
                if r != BPEModel.noRank { heap.push(UInt64(r) << 32 | UInt64(p)) }
            }
            if k >= 0 {
                let r = lookup(merged, s.symbols[Int(k)]).rank
                if r != BPEModel.noRank { heap.push(UInt64(r) << 32 | UInt64(i)) }
            }
        }
        var i = 0
        while i >= 0 && i < n {
            out.append(s.symbols[i])
            i = Int(next[i])
        }
    }
}

/// Reusable buffers for `BPEModel.encodeWord`, so encoding allocates per call, not per word.
struct BPEScratch {
    static let shortWord = 48
    var symbols: [Int32] = []
    var ranks: [UInt32] = []
    var merged: [Int32] = []
}

/// A binary min-heap of UInt64 keys (rank in the high half, position in the low half, so the
/// order is lowest rank first, then leftmost).
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= items.count { break }
            var smallest = left
            if left + 1 < items.count && items[left + 1] < items[left] { smallest = left + 1 }
            if items[parent] <= items[smallest] { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
