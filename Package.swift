// swift-tools-version:6.0
import PackageDescription

// Layers (see ../shared/DESIGN.md): zoo -> ZooVerify -> ZooModels -> ZooKernels -> ZooFormats -> ZooTensor.
let package = Package(
    name: "Zoo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "zoo", targets: ["zoo"]),
        .library(name: "ZooTensor", targets: ["ZooTensor"]),
        .library(name: "ZooFormats", targets: ["ZooFormats"]),
        .library(name: "ZooModels", targets: ["ZooModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c",
                       providers: [.apt(["libjson-c-dev"]), .brew(["json-c"])]),
        .systemLibrary(name: "CImage", providers: [.apt(["libpng-dev", "libjpeg62-turbo-dev"])]),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),  // no FMA unless written: the numerics contract in ckernels.h
        // JPEG decoding glue: libjpeg reports errors by longjmp, which must stay inside C.
        .target(name: "CImageCodec", linkerSettings: [.linkedLibrary("jpeg")]),
        // SHA-256 for provenance: x86 SHA extensions chosen at run time, portable C otherwise.
        .target(name: "CHash", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "ZooTensor", dependencies: ["CJSONC", "CHash"]),
        .target(name: "ZooFormats", dependencies: ["ZooTensor", "CZlib"]),
        .target(name: "ZooKernels", dependencies: ["ZooTensor", "CKernels"]),
        .target(name: "ZooModels", dependencies: ["ZooTensor", "ZooFormats", "ZooKernels", "CImage", "CImageCodec"]),
        .target(name: "ZooVerify", dependencies: ["ZooTensor", "ZooFormats", "ZooModels", "ZooKernels"]),
        .executableTarget(name: "zoo", dependencies: [
            "ZooTensor", "ZooFormats", "ZooKernels", "ZooModels", "ZooVerify",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers shared by the test targets (running Python reference checks).
        .target(name: "ZooTestSupport", path: "Tests/ZooTestSupport"),
        .testTarget(name: "ZooTensorTests", dependencies: ["ZooTensor"]),
        .testTarget(name: "ZooFormatsTests", dependencies: ["ZooFormats", "ZooTensor", "ZooTestSupport"]),
        .testTarget(name: "ZooKernelsTests", dependencies: ["ZooKernels", "CKernels", "ZooTensor"]),
        .testTarget(name: "ZooModelsTests", dependencies: ["ZooModels", "ZooFormats", "ZooTensor", "ZooKernels"]),
        .testTarget(name: "ZooVerifyTests", dependencies: ["ZooVerify", "ZooModels", "ZooFormats", "ZooTensor"]),
        .testTarget(name: "ZooCLITests", dependencies: ["zoo", "ZooFormats", "ZooTensor", "ZooTestSupport"]),
    ]
)
