import Foundation
import ZooTensor

/// How an image becomes a model's pixel tensor. Two recipes, as the reference libraries do it:
///
/// - `.huggingFace` (transformers ViTImageProcessor): resize straight to height x width (no aspect
///   kept, no crop), then f32(f64(v) * rescale) and (x - mean) / std in f32.
/// - `.timm` (timm's eval transform): shorter side to floor(size / crop_pct) with the longer side
///   int(short * long / short) (both sides to floor(H/crop_pct) x floor(W/crop_pct) when H != W),
///   centre crop H x W at round((size - crop) / 2), then f32(v) / 255 and (x - mean) / std in f32.
public struct ImagePreprocessing: Sendable, Equatable {
    public enum Recipe: String, Sendable { case huggingFace = "hf", timm }

    public var recipe: Recipe
    public var height: Int
    public var width: Int
    public var filter: ResampleFilter
    public var doResize = true
    public var doRescale = true
    public var rescaleFactor: Double = 1.0 / 255.0
    public var doNormalize = true
    public var mean: [Float] = [0.5, 0.5, 0.5]
    public var std: [Float] = [0.5, 0.5, 0.5]
    /// timm only: the centre crop fraction.
    public var cropPct: Double = 0.875

    public init(recipe: Recipe, height: Int, width: Int, filter: ResampleFilter) {
        self.recipe = recipe
        self.height = height
        self.width = width
        self.filter = filter
    }

    /// The ViTImageProcessor defaults at a model's image size (when there is no preprocessor_config.json).
    public static func huggingFaceDefaults(imageSize: Int) -> ImagePreprocessing {
        ImagePreprocessing(recipe: .huggingFace, height: imageSize, width: imageSize, filter: .bilinear)
    }

    /// timm's defaults (ImageNet mean/std, crop_pct 0.875, bicubic), for a checkpoint without a config.
    public static func timmDefaults(imageSize: Int) -> ImagePreprocessing {
        var p = ImagePreprocessing(recipe: .timm, height: imageSize, width: imageSize, filter: .bicubic)
        p.mean = [0.485, 0.456, 0.406]
        p.std = [0.229, 0.224, 0.225]
        return p
    }

    /// The image's pixel values.  image: [H0, W0, 3] uint8 -> [3, height, width] f32 (CHW).
    public func pixelValues(_ image: RGBImage) throws -> [Float] {
        let prepared = try geometry(image)
        guard prepared.width == width, prepared.height == height else {
            throw ZooError("image is \(prepared.width)x\(prepared.height) after preprocessing, the model expects "
                           + "\(width)x\(height) (resizing is switched off in the preprocessor config)")
        }
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        let meanF = mean.count == 3 ? mean : Array(repeating: mean.first ?? 0, count: 3)
        let stdF = std.count == 3 ? std : Array(repeating: std.first ?? 1, count: 3)
        for p in 0..<plane {
            for c in 0..<3 {
                let v = prepared.pixels[p * 3 + c]
                var x: Float
                switch recipe {
                case .huggingFace:
                    // transformers rescales in double and stores f32.
                    x = doRescale ? Float(Double(v) * rescaleFactor) : Float(v)
                case .timm:
                    x = Float(v) / Float(255)  // torchvision ToTensor divides in f32
                }
                if doNormalize { x = (x - meanF[c]) / stdF[c] }
                out[c * plane + p] = x
            }
        }
        return out
    }

    /// The resized (and for timm cropped) uint8 image before rescaling.
    public func geometry(_ image: RGBImage) throws -> RGBImage {
        switch recipe {
        case .huggingFace:
            if !doResize || (image.width == width && image.height == height) { return image }
            return try image.resized(width: width, height: height, filter: filter)
        case .timm:
            let (nw, nh) = timmResizeSize(width: image.width, height: image.height)
            let resized = (nw == image.width && nh == image.height)
                ? image : try image.resized(width: nw, height: nh, filter: filter)
            let top = Int((Double(nh - height) / 2).rounded(.toNearestOrEven))
            let left = Int((Double(nw - width) / 2).rounded(.toNearestOrEven))
            return try resized.cropped(left: left, top: top, width: width, height: height)
        }
    }

    /// Checks what `geometry` and `pixelValues` rely on, so that settings read from a file give an
    /// error naming it rather than a trap when the first image arrives (crop_pct 1e-300 made
    /// floor(size / crop_pct) too large for an Int; a zero std divides by zero).
    public func validate(path: String?) throws {
        if let problem = ImageLimits.problem(width: width, height: height) {
            throw ZooError("preprocessing output: \(problem)", path: path)
        }
        if recipe == .timm {
            // timm resizes the shorter side to floor(size / crop_pct) before the centre crop.
            guard cropPct.isFinite, cropPct > 0, cropPct <= 4,
                  Double(max(height, width)) / cropPct <= Double(ImageLimits.maxSide) else {
                throw ZooError("crop_pct \(cropPct) is out of range: expected (0, 4] with \(max(height, width)) / crop_pct "
                               + "at most \(ImageLimits.maxSide) pixels", path: path)
            }
        }
        guard rescaleFactor.isFinite else { throw ZooError("rescale_factor \(rescaleFactor) is not a finite number", path: path) }
        for (name, values) in [("mean", mean), ("std", std)] {
            guard values.count == 3, values.allSatisfy(\.isFinite) else {
                throw ZooError("image \(name) \(values) is not 3 finite numbers (one per RGB channel)", path: path)
            }
        }
        if std.contains(0) { throw ZooError("image std \(std) contains 0", path: path) }
    }

    /// timm/torchvision Resize(int) geometry: -> (new width, new height).
    func timmResizeSize(width w: Int, height h: Int) -> (Int, Int) {
        let sh = Int((Double(height) / cropPct).rounded(.down)), sw = Int((Double(width) / cropPct).rounded(.down))
        if sh != sw { return (sw, sh) }
        if w <= h { return (sh, Int(Double(sh) * Double(h) / Double(w))) }
        return (Int(Double(sh) * Double(w) / Double(h)), sh)
    }
}

extension ImagePreprocessing {
    /// From a Hugging Face `preprocessor_config.json` object; missing keys take ViTImageProcessor's defaults.
    public static func fromHuggingFace(_ json: JSONValue, imageSize: Int, path: String?) throws -> ImagePreprocessing {
        var p = huggingFaceDefaults(imageSize: imageSize)
        if let size = json["size"] {
            if let side = size.int {
                p.height = side; p.width = side
            } else if let h = size["height"]?.int, let w = size["width"]?.int {
                p.height = h; p.width = w
            } else {
                throw ZooError("preprocessor size \(size) is not supported; expected {\"height\": H, \"width\": W}",
                               path: path)
            }
        }
        if let r = json["resample"]?.int { p.filter = try withErrorContext(path: path ?? "") { try ResampleFilter(pilCode: r) } }
        if let b = json["do_resize"]?.bool { p.doResize = b }
        if let b = json["do_rescale"]?.bool { p.doRescale = b }
        if let f = json["rescale_factor"]?.double { p.rescaleFactor = f }
        if let b = json["do_normalize"]?.bool { p.doNormalize = b }
        if let m = json["image_mean"] { p.mean = try floats3(m, "image_mean", path) }
        if let s = json["image_std"] { p.std = try floats3(s, "image_std", path) }
        try p.validate(path: path)
        return p
    }

    /// From timm's `pretrained_cfg` object (input_size, interpolation, crop_pct, mean, std).
    public static func fromTimm(_ cfg: JSONValue, imageSize: Int, path: String?) throws -> ImagePreprocessing {
        var p = timmDefaults(imageSize: imageSize)
        if let size = cfg["input_size"]?.array, size.count == 3, let h = size[1].int, let w = size[2].int {
            p.height = h; p.width = w
        }
        if let interp = cfg["interpolation"]?.string {
            switch interp {
            case "bicubic": p.filter = .bicubic
            case "bilinear": p.filter = .bilinear
            default: throw ZooError("timm interpolation '\(interp)' is not supported; expected bicubic or bilinear", path: path)
            }
        }
        if let c = cfg["crop_pct"]?.double { p.cropPct = c }  // range checked by validate below
        if let mode = cfg["crop_mode"]?.string, mode != "center" {
            throw ZooError("timm crop_mode '\(mode)' is not supported; expected 'center'", path: path)
        }
        if let m = cfg["mean"] { p.mean = try floats3(m, "mean", path) }
        if let s = cfg["std"] { p.std = try floats3(s, "std", path) }
        try p.validate(path: path)
        return p
    }

    private static func floats3(_ v: JSONValue, _ key: String, _ path: String?) throws -> [Float] {
        let values = (v.array ?? []).compactMap { $0.double }.map { Float($0) }
        if let single = v.double { return [Float(single), Float(single), Float(single)] }
        guard values.count == 3 || values.count == 1 else {
            throw ZooError("\(key) \(v) is not supported; expected 3 numbers (one per RGB channel)", path: path)
        }
        if key.contains("std"), values.contains(0) { throw ZooError("\(key) contains 0", path: path) }
        return values.count == 3 ? values : Array(repeating: values[0], count: 3)
    }
}
