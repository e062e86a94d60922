import Foundation
import XCTest
import ZooTensor
@testable import ZooModels

/// Resize and the two preprocessing recipes against PIL/transformers/timm reference tensors in
/// formats/resize-reference (see formats/image-preprocessing.md for the measured figures).
final class ImagePreprocessingTests: XCTestCase {
    static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    static let imagenetStd: [Float] = [0.229, 0.224, 0.225]

    /// The four pipelines of make_resize_reference.py.
    static func pipeline(_ name: String) -> ImagePreprocessing? {
        var p: ImagePreprocessing
        switch name {
        case "hf-40x40":
            p = ImagePreprocessing(recipe: .huggingFace, height: 40, width: 40, filter: .bilinear)
            p.mean = imagenetMean; p.std = imagenetStd
        case "hf-20x30":
            p = ImagePreprocessing(recipe: .huggingFace, height: 20, width: 30, filter: .bilinear)
        case "timm-48-crop0.9":
            p = ImagePreprocessing(recipe: .timm, height: 48, width: 48, filter: .bicubic)
            p.cropPct = 0.9; p.mean = imagenetMean; p.std = imagenetStd
        case "timm-24-crop0.875":
            p = ImagePreprocessing(recipe: .timm, height: 24, width: 24, filter: .bicubic)
            p.cropPct = 0.875
        default:
            return nil
        }
        return p
    }

    /// Every "<stem>.rgb.<pipeline>.resized.npy" and ".pixel_values.npy": Zoo's resize must equal
    /// PIL's exactly (0 in 0..255 units) and the pixel values must agree to f32 rounding.
    func testResizeAndPixelValuesMatchReference() throws {
        let folder = ImageTestSupport.resizeReference
        let resizedFiles = ImageTestSupport.files(in: folder, suffix: ".resized.npy").filter { $0.contains(".rgb.") }
        try XCTSkipIf(resizedFiles.isEmpty, "no resize reference files yet")
        var checked = 0
        for file in resizedFiles {
            let parts = file.components(separatedBy: ".rgb.")
            let stem = parts[0], pipeName = String(parts[1].dropLast(".resized.npy".count))
            guard let pipe = Self.pipeline(pipeName) else { continue }
            let imageName = stem.hasSuffix("-jpg") ? String(stem.dropLast(4)) + ".jpg" : stem + ".png"
            let image = try ImageDecoder.decode(file: ImageTestSupport.images + "/" + imageName)

            // Resized (before any crop): [3, h, w] f32 holding 0..255.
            let (want, shape) = try ImageTestSupport.npy(folder + "/" + file)
            let resized: RGBImage
            if pipe.recipe == .timm {
                let (nw, nh) = pipe.timmResizeSize(width: image.width, height: image.height)
                resized = try image.resized(width: nw, height: nh, filter: pipe.filter)
            } else {
                resized = try image.resized(width: pipe.width, height: pipe.height, filter: pipe.filter)
            }
            XCTAssertEqual(shape, [3, resized.height, resized.width], file)
            let chw = chwFloats(resized)
            XCTAssertEqual(ImageTestSupport.maxAbsDiff(chw, want), 0, "\(file): resize differs from PIL")

            let pvFile = folder + "/" + file.replacingOccurrences(of: ".resized.npy", with: ".pixel_values.npy")
            if ImageTestSupport.exists(pvFile) {
                let (pv, pvShape) = try ImageTestSupport.npy(pvFile)
                XCTAssertEqual(pvShape, [3, pipe.height, pipe.width], pvFile)
                let got = try pipe.pixelValues(image)
                XCTAssertLessThanOrEqual(ImageTestSupport.maxAbsDiff(got, pv), 1e-6, "\(pvFile)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    /// Closed forms: a constant image stays constant under any resize; upsampling 1 pixel wide by
    /// bilinear keeps it; a 2x2 checker shrunk to 1x1 averages to the rounded mean.
    func testResizeClosedForms() throws {
        let flat = try RGBImage(width: 7, height: 5, pixels: Array(repeating: 77, count: 7 * 5 * 3))
        for filter in [ResampleFilter.bilinear, .bicubic] {
            let r = try flat.resized(width: 13, height: 3, filter: filter)
            XCTAssertEqual(Set(r.pixels), [77])
        }
        let checker = try RGBImage(width: 2, height: 2, pixels: [0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0])
        let one = try checker.resized(width: 1, height: 1, filter: .bilinear)
        XCTAssertEqual(one.pixels, [128, 128, 128])  // (0 + 255) / 2 = 127.5, PIL rounds half up
    }

    func testTimmGeometryFollowsTorchvision() {
        var p = ImagePreprocessing(recipe: .timm, height: 224, width: 224, filter: .bicubic)
        p.cropPct = 0.9
        XCTAssertEqual(p.timmResizeSize(width: 640, height: 480).0, 330)  // int(248 * 640 / 480)
        XCTAssertEqual(p.timmResizeSize(width: 640, height: 480).1, 248)
        XCTAssertEqual(p.timmResizeSize(width: 300, height: 500).0, 248)
        XCTAssertEqual(p.timmResizeSize(width: 300, height: 500).1, 413)
    }

    func testPreprocessorConfigParsing() throws {
        let json = try JSON.parse("""
        {"do_normalize": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
         "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 16, "width": 24}}
        """)
        let p = try ImagePreprocessing.fromHuggingFace(json, imageSize: 224, path: nil)
        XCTAssertEqual(p.height, 16)
        XCTAssertEqual(p.width, 24)
        XCTAssertEqual(p.filter, .bicubic)
        let bad = try JSON.parse(#"{"resample": 5}"#)
        XCTAssertThrowsError(try ImagePreprocessing.fromHuggingFace(bad, imageSize: 224, path: "p.json"))
    }

    private func chwFloats(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * plane)
        for p in 0..<plane { for c in 0..<3 { out[c * plane + p] = Float(image.pixels[p * 3 + c]) } }
        return out
    }
}
