import ZooFormats
import ZooTensor

/// Already-preprocessed pixel tensors from `.npy` files: [B, C, H, W] or [C, H, W], any float dtype.
public enum PixelTensorInput {
    public static func isPixelTensorFile(_ path: String) -> Bool { path.lowercased().hasSuffix(".npy") }

    /// -> (values [B, C, H, W] f32, B), checked against the model's C x H x W.
    public static func load(_ path: String, channels: Int, height: Int, width: Int) throws -> (values: [Float], batch: Int) {
        let reader = try NpyReader(path: path)
        guard let info = reader.tensors.first else { throw ZooError("holds no array", path: path) }
        let dims = info.shape.dims
        let chw = Array(dims.suffix(3))
        guard (dims.count == 3 || dims.count == 4), chw == [channels, height, width] else {
            throw ZooError("pixel tensor has shape \(info.shape); expected [B, \(channels), \(height), \(width)] or "
                           + "[\(channels), \(height), \(width)] (already preprocessed for this model)", path: path)
        }
        guard info.dtype.isFloatingPoint else {
            throw ZooError("pixel tensor has dtype \(info.dtype.name); expected a float type (preprocessed values)", path: path)
        }
        let batch = dims.count == 4 ? dims[0] : 1
        guard batch > 0 else { throw ZooError("pixel tensor holds no images (batch 0)", path: path) }
        let values = try reader.tensor(info.name).floats()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ZooError("pixel tensor value \(bad) is \(values[bad]); expected finite numbers", path: path)
        }
        return (values, batch)
    }
}
