import Foundation
import ZooFormats
import ZooTensor

/// Writes a conversion plan in row chunks and checks every chunk as soon as it is written: its
/// bytes are read back from the output file (the temporary file, through the kernel: what the
/// file holds) and compared with the values computed from the source, bit for bit where the dtype
/// is lossless for the source, else by relative error over the whole tensor (max|diff|/max|ref|,
/// `TableMapping.limit`). Checking right away costs little: the source values are still in cache.
/// Source pages are let go of chunk by chunk, so the resident size stays at a few chunks however
/// large a tensor is (GPT-2's token embedding is 154 MB of f32). Tensors are cut into jobs (row
/// ranges) that every core takes in turn, each writing its rows at their place in the file.
///
/// With `checkLayout` afterwards (the output's header parsed by the format's reader: every tensor where
/// the writer put it, with the planned dtype and shape), this proves what the old whole-file
/// re-read proved: each tensor read from the output holds the source's values.
enum ChunkedConversion {
    /// Values per chunk: 512 KiB of f32, so source, encoded and read-back bytes of a chunk stay
    /// in L2 between conversion and check.
    static let defaultChunkValues = 1 << 17

    struct Result {
        var bytes = 0
        /// Worst relative error per written dtype (0 where bit-exact).
        var worst: [DType: Double] = [:]
    }

    /// Values per job: 4 MiB of f32. Jobs (row ranges of one tensor) are what the worker threads
    /// take, so a large tensor is shared out and the workers finish together.
    static let defaultJobValues = 1 << 20

    /// Writes every planned tensor (after `writer.begin`, before `finish`), on `workers` threads
    /// (this one included) taking row ranges in plan order.
    static func write(_ plan: [MappedTensor], reader: CheckpointReader, writer: ChunkedCheckpointWriter,
                      progress: ((Int, Int) -> Void)?, workers: Int = defaultWorkers,
                      chunkValues: Int = defaultChunkValues, jobValues: Int = defaultJobValues) throws -> Result {
        let run = try Run(plan, reader: reader, writer: writer, progress: progress, chunkValues: chunkValues, jobValues: jobValues)
        let helpers = (1..<max(workers, 1)).map { _ in BackgroundTask { run.work() } }
        run.work()
        for helper in helpers { _ = try? helper.value() }  // joined before the writer can be closed
        if let failure = run.failure { throw failure }
        return run.result
    }

    /// One per core (the machine this was tuned on has two).
    static var defaultWorkers: Int { min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4) }

    /// A tensor being written: how its values come out of the source, and its running check.
    /// The source tensor is fetched by the first job that needs it and let go of by the last, so
    /// readers that decode copies (npz) hold one or two tensors at a time, not the model.
    final class WrittenTensor {
        let entry: MappedTensor
        let unit: Int, rows: Int, rowBytes: Int
        let lossless: Bool
        /// Whether row ranges can be written independently (else one job computes it whole).
        let splittable: Bool
        var jobsLeft = 0
        var maxDiff: Float = 0, maxRef: Float = 0
        private let lock = NSLock()
        private var source: Tensor?
        private var cached: Mode?

        init(_ entry: MappedTensor, reader: CheckpointReader) throws {
            self.entry = entry
            let spec = entry.target
            let n = try spec.shape.elementCount()
            unit = max(unitLength(spec), 1)
            rows = n / unit
            rowBytes = n == 0 ? 0 : try spec.dtype.byteCount(shape: Shape([unit]))
            lossless = spec.dtype == .f32 || spec.dtype == entry.sourceDType || spec.dtype == .f64
            let info = entry.sourceNames.count == 1 ? reader.info(entry.sourceNames[0]) : nil
            let simple: Set<TensorTransform> = [.none, .reshape, .transpose]
            splittable = info != nil && (entry.copiesBytes || ([DType.f32, .f16, .bf16].contains(entry.sourceDType)
                && simple.contains(entry.source.transform) && simple.contains(entry.targetRule.transform)))
        }

        /// How the stored values come out of the source (fetched once, shared by the jobs).
        func mode(_ reader: CheckpointReader) throws -> Mode {
            lock.lock(); defer { lock.unlock() }
            if let cached { return cached }
            let fetched = entry.sourceNames.count == 1 ? try reader.tensor(entry.sourceNames[0]) : nil
            let m = try modeWithoutFallback(entry, source: fetched)
                ?? .values(TableMapping.stored(try TableMapping.canonical(entry, reader: reader), entry: entry))
            source = fetched
            cached = m
            return m
        }

        /// After the last job: the source tensor (and any computed values) can go.
        func drop() {
            lock.lock(); defer { lock.unlock() }
            cached = nil
            source = nil
        }
    }

    /// The shared state of one conversion's workers.
    final class Run: @unchecked Sendable {
        let reader: CheckpointReader
        let writer: ChunkedCheckpointWriter
        let progress: ((Int, Int) -> Void)?
        var tensors: [WrittenTensor] = []
        var jobs: [(tensor: Int, rows: Range<Int>)] = []
        let widest: Int
        let chunkValues: Int
        private let lock = NSLock()
        private var next = 0
        private var done = 0
        var result = Result()
        var failure: Error?

        init(_ plan: [MappedTensor], reader: CheckpointReader, writer: ChunkedCheckpointWriter, progress: ((Int, Int) -> Void)?,
             chunkValues: Int, jobValues: Int) throws {
            self.chunkValues = chunkValues
            self.reader = reader
            self.writer = writer
            self.progress = progress
            for (k, entry) in plan.enumerated() {
                let t: WrittenTensor
                do { t = try WrittenTensor(entry, reader: reader) } catch let e as ZooError { throw e.at(tensor: entry.target.name) }
                let per = t.splittable ? max(1, jobValues / t.unit) : max(t.rows, 1)
                var r0 = 0
                repeat {
                    let r1 = min(t.rows, r0 + per)
                    jobs.append((k, r0..<r1))
                    t.jobsLeft += 1
                    r0 = r1
                } while r0 < t.rows
                tensors.append(t)
            }
            widest = tensors.map(\.unit).max() ?? 0
        }

        /// Takes jobs until there are none left or one failed.
        func work() {
            let buffers = Buffers(values: max(chunkValues, widest))
            while true {
                lock.lock()
                if failure != nil || next >= jobs.count { lock.unlock(); return }
                let job = jobs[next]
                next += 1
                lock.unlock()
                let t = tensors[job.tensor]
                var maxDiff: Float = 0, maxRef: Float = 0
                do {
                    try writeRows(t, rows: job.rows, reader: reader, writer: writer, buffers: buffers, &maxDiff, &maxRef)
                } catch let e as ZooError {
                    fail(e.at(tensor: t.entry.target.name))
                    return
                } catch {
                    fail(error)
                    return
                }
                lock.lock()
                t.maxDiff = max(t.maxDiff, maxDiff)
                t.maxRef = max(t.maxRef, maxRef)
                t.jobsLeft -= 1
                if t.jobsLeft == 0 {
                    do { try finish(t) } catch { lock.unlock(); fail(error); return }
                }
                lock.unlock()
            }
        }

        private func fail(_ error: Error) {
            lock.lock()
            if failure == nil { failure = error }
            lock.unlock()
        }

        /// The tensor's last job is done (called with the lock held): its relative error over
        /// all rows, its pages let go of, progress.
        private func finish(_ t: WrittenTensor) throws {
            t.drop()
            t.entry.sourceNames.forEach(reader.release)
            let spec = t.entry.target
            var rel = 0.0
            if !t.lossless {
                rel = Double(t.maxRef > 0 ? t.maxDiff / t.maxRef : t.maxDiff)
                if rel > TableMapping.limit(spec.dtype) || rel.isNaN {
                    throw ZooError("re-read values differ from the source by \(rel) (relative), more than \(spec.dtype.name) allows (\(TableMapping.limit(spec.dtype)))", path: writer.path, tensor: spec.name)
                }
            }
            result.worst[spec.dtype] = max(result.worst[spec.dtype] ?? 0, rel)
            result.bytes += try spec.byteCount()
            done += 1
            progress?(done, result.bytes)
        }
    }

    /// The output's header, parsed by its reader, must put every tensor where the writer wrote it,
    /// with the planned dtype and shape (the chunk checks read the bytes at the writer's offsets).
    static func checkLayout(_ plan: [MappedTensor], written: CheckpointReader, writerOffset: (String) -> Int?,
                            readerRange: (String) -> Range<Int>?, output: String) throws {
        if written.tensors.count != plan.count {
            throw ZooError("re-read \(written.tensors.count) tensors, wrote \(plan.count)", path: output)
        }
        for entry in plan {
            let name = entry.target.name
            guard let info = written.info(name) else { throw ZooError("re-read without this tensor", path: output, tensor: name) }
            guard info.dtype == entry.target.dtype, info.shape == entry.target.shape else {
                throw ZooError("re-read as \(info.dtype.name) \(info.shape), written as \(entry.target.dtype.name) \(entry.target.shape)", path: output, tensor: name)
            }
            guard let at = writerOffset(name), let range = readerRange(name), range.lowerBound == at, range.count == (try entry.target.byteCount()) else {
                throw ZooError("re-read at \(readerRange(name).map { "\($0)" } ?? "no offset"), written at \(writerOffset(name).map(String.init) ?? "no offset"): the header is wrong", path: output, tensor: name)
            }
        }
    }

    /// Elements per row: the innermost dimension (quantized blocks run along it); 1-D tensors are
    /// cut at block (or element) boundaries.
    static func unitLength(_ spec: TensorSpec) -> Int {
        let dims = spec.shape.dims
        if dims.count >= 2 { return dims.last ?? 0 }
        return spec.dtype.isQuantized ? spec.dtype.blockSize : 1
    }

    /// Scratch memory reused by every chunk.
    final class Buffers {
        let values: Int
        let scratch: UnsafeMutablePointer<Float>
        let backFloats: UnsafeMutablePointer<Float>
        let encoded: UnsafeMutableRawPointer
        let back: UnsafeMutableRawPointer

        init(values: Int) {
            self.values = values
            scratch = .allocate(capacity: values)
            backFloats = .allocate(capacity: values)
            // 8 bytes per value covers every dtype a chunk can be written as (f64 included).
            encoded = .allocate(byteCount: values * 8, alignment: 64)
            back = .allocate(byteCount: values * 8, alignment: 64)
        }

        deinit {
            scratch.deallocate(); backFloats.deallocate(); encoded.deallocate(); back.deallocate()
        }
    }

    /// How a tensor's stored values come out of the source.
    enum Mode {
        /// Same bytes (no transform, same dtype): copied chunk by chunk and compared byte for byte.
        case copy(UnsafeRawBufferPointer)
        /// Stored order equals the source's element order (f32, f16 or bf16 source).
        case direct(UnsafeRawBufferPointer, DType)
        /// Stored [b, a] is the transpose of the source [a, b] (HF Conv1D <-> Linear).
        case transposed(UnsafeRawBufferPointer, DType, a: Int, b: Int)
        /// Anything else (concatenated parts, other dtypes): the whole tensor computed up front.
        case values([Float])
    }

    /// Writes, reads back and checks stored rows `rows` of a tensor, chunk by chunk; adds to the
    /// running max|diff| and max|ref| where the dtype is lossy.
    static func writeRows(_ t: WrittenTensor, rows: Range<Int>, reader: CheckpointReader, writer: ChunkedCheckpointWriter,
                          buffers: Buffers, _ maxDiff: inout Float, _ maxRef: inout Float) throws {
        let spec = t.entry.target
        let name = spec.name
        let unit = t.unit, rowBytes = t.rowBytes
        if rows.isEmpty {
            try writer.write(name, at: 0, UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        let sourceName = t.entry.sourceNames.first ?? ""
        let mode = try t.mode(reader)
        let rowsPerChunk = max(1, buffers.values / unit)
        var r0 = rows.lowerBound
        while r0 < rows.upperBound {
            let r1 = min(rows.upperBound, r0 + rowsPerChunk)
            let count = (r1 - r0) * unit
            let outBytes = (r1 - r0) * rowBytes
            let back = UnsafeMutableRawBufferPointer(start: buffers.back, count: outBytes)
            if case .copy(let raw) = mode {
                let bytes = (r0 * rowBytes)..<(r0 * rowBytes + outBytes)
                let part = UnsafeRawBufferPointer(rebasing: raw[bytes])
                try writer.write(name, at: bytes.lowerBound, part)
                try writer.readBack(name, offset: bytes.lowerBound, into: back)
                if memcmp(back.baseAddress!, part.baseAddress!, outBytes) != 0 {
                    throw ZooError("re-read bytes differ from the source: the written file is wrong", path: writer.path, tensor: name)
                }
                reader.release(sourceName, bytes: bytes)
                r0 = r1
                continue
            }
            var sourceBytes: Range<Int>?
            if case .direct(_, let dtype) = mode { sourceBytes = (r0 * unit * dtype.bytesPerBlock)..<(r1 * unit * dtype.bytesPerBlock) }
            let values = try rowValues(mode, rows: r0..<r1, unit: unit, into: buffers.scratch)
            let encoded = try encode(values, count: count, as: spec.dtype, into: buffers.encoded)
            if encoded.count != outBytes { throw ZooError("encoded \(encoded.count) bytes for \(count) values, expected \(outBytes)", tensor: name) }
            try writer.write(name, at: r0 * rowBytes, encoded)
            try writer.readBack(name, offset: r0 * rowBytes, into: back)
            if spec.dtype == .q8_0 && !t.lossless {
                // Dequantized and compared in one pass, without storing the values.
                accumulateQ8_0(UnsafeRawPointer(back.baseAddress!), values, count / 32, &maxDiff, &maxRef)
            } else {
                let got = try decode(UnsafeRawBufferPointer(back), count: count, as: spec.dtype, into: buffers.backFloats)
                try compare(got, values, count: count, lossless: t.lossless, first: r0 * unit, &maxDiff, &maxRef, path: writer.path, tensor: name)
            }
            if let sourceBytes { reader.release(sourceName, bytes: sourceBytes) }
            r0 = r1
        }
    }

    /// The fast modes, or nil when the tensor needs the whole-tensor fallback.
    static func modeWithoutFallback(_ entry: MappedTensor, source: Tensor?) throws -> Mode? {
        guard let source else { return nil }
        if entry.copiesBytes { return .copy(source.bytes) }
        let simple: Set<TensorTransform> = [.none, .reshape, .transpose]
        guard simple.contains(entry.source.transform), simple.contains(entry.targetRule.transform),
              [DType.f32, .f16, .bf16].contains(source.dtype), source.count == entry.target.shape.count,
              Int(bitPattern: source.bytes.baseAddress) % source.dtype.bytesPerBlock == 0, 1.littleEndian == 1 else { return nil }
        let srcT = entry.source.transform == .transpose, dstT = entry.targetRule.transform == .transpose
        // Transposing on both sides gives back the source order.
        if srcT == dstT { return .direct(source.bytes, source.dtype) }
        let dims = entry.target.shape.dims
        return dims.count == 2 ? .transposed(source.bytes, source.dtype, a: dims[1], b: dims[0]) : nil
    }
}
