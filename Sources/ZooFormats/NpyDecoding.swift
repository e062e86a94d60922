import ZooTensor

/// Turns the data part of a .npy array into a Tensor: a zero-copy view when it is little-endian
/// C order, otherwise a decoded copy (byte-swapped, transposed from Fortran order).
enum NpyDecoding {
    static func tensor(header: NpyHeader, data: UnsafeRawBufferPointer, owner: AnyObject, path: String, name: String) throws -> Tensor {
        let bytes: Int
        do { bytes = try header.dtype.byteCount(shape: header.shape) } catch let e as ZooError { throw ZooError(e.message, path: path, tensor: name) }
        if data.count < bytes {
            throw ZooError("needs \(bytes) bytes of data for \(header.dtype.name) \(header.shape), found \(data.count)", path: path, tensor: name)
        }
        if data.count > bytes {
            throw ZooError("has \(data.count - bytes) bytes after the \(bytes) bytes of data that \(header.dtype.name) \(header.shape) needs", path: path, tensor: name)
        }
        let view = UnsafeRawBufferPointer(rebasing: data[0..<bytes])
        if !header.bigEndian && (!header.fortranOrder || header.shape.rank < 2) {
            return try Tensor(dtype: header.dtype, shape: header.shape, storage: TensorStorage(view: view, owner: owner))
        }
        let out = try Tensor(zeros: header.dtype, shape: header.shape)
        guard let dst = out.mutableBytes else { return out }
        let size = header.dtype.bytesPerBlock
        let dims = header.shape.dims
        let count = header.shape.count
        // Fortran order: element at C index (i0..ik) lives at column-major position.
        var strides = [Int](repeating: 1, count: dims.count)  // column-major strides in elements
        for d in 1..<max(dims.count, 1) where dims.count > 1 { strides[d] = strides[d - 1] * dims[d - 1] }
        var index = [Int](repeating: 0, count: dims.count)
        for c in 0..<count {
            var source = c
            if header.fortranOrder && dims.count > 1 {
                source = 0
                for d in 0..<dims.count { source += index[d] * strides[d] }
                var d = dims.count - 1
                while d >= 0 { index[d] += 1; if index[d] < dims[d] { break }; index[d] = 0; d -= 1 }
            }
            for b in 0..<size {
                dst[c * size + b] = view[source * size + (header.bigEndian ? size - 1 - b : b)]
            }
        }
        return out
    }
}
