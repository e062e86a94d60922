#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Remembers the ids of words already encoded during one `encode` call: natural text repeats its
/// words, so most pieces skip BPE entirely. Keys point into the text being encoded, which stays
/// alive and unchanged for the whole call; that is why the cache lives only that long (and why the
/// tokenizer needs no lock to be Sendable).
struct WordCache {
    /// A word as a view of the text's bytes, compared by content.
    struct Key: Hashable {
        let start: UnsafePointer<UInt8>
        let count: Int

        static func == (a: Key, b: Key) -> Bool {
            a.count == b.count && (a.start == b.start || memcmp(a.start, b.start, a.count) == 0)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(bytes: UnsafeRawBufferPointer(start: start, count: count))
        }
    }

    /// Words longer than this are rare enough not to be worth keeping.
    static let maxWordBytes = 64
    /// Bounds the memory of one call on text with huge numbers of distinct words.
    static let maxEntries = 100_000

    private var entries: [Key: (start: Int32, count: Int32)] = [:]
    private var ids: [Int32] = []

    /// The cached ids of `word`, appended to `out`; false when the word is not cached.
    mutating func append(_ word: UnsafeBufferPointer<UInt8>, to out: inout [Int32]) -> Bool {
        guard word.count <= WordCache.maxWordBytes, let base = word.baseAddress,
              let entry = entries[Key(start: base, count: word.count)] else { return false }
        out.append(contentsOf: ids[Int(entry.start)..<Int(entry.start + entry.count)])
        return true
    }

    /// Stores the ids `encoded` (a range of `out`) for `word`.
    mutating func store(_ word: UnsafeBufferPointer<UInt8>, ids encoded: ArraySlice<Int32>) {
        guard word.count <= WordCache.maxWordBytes, entries.count < WordCache.maxEntries,
              let base = word.baseAddress else { return }
        entries[Key(start: base, count: word.count)] = (Int32(ids.count), Int32(encoded.count))
        ids.append(contentsOf: encoded)
    }
}
