import Foundation
import XCTest
import ZooFormats
import ZooTensor
@testable import ZooVerify

/// Fixture members that disagree with formats/fixture-format.md are named errors, never traps
/// or a vacuous pass. Before: an input id of Int64.max trapped in Int(Float) (ids were read
/// through f32, so ids above 2^24 also came back rounded); a top-k member shorter than [T, K] was
/// read out of range; a missing logsumexp compared nothing and passed.
final class HostileFixtureTests: XCTestCase {
    /// A closed-form language model: logit v at a position is 2 if v is that position's input id,
    /// else v / 10. Its top-k and log-sum-exp are computed here by hand.
    final class OneHotModel: TextLogitsModel {
        let vocabularySize = 6, contextLength = 8, layerCount = 1
        func logits(for ids: [Int], captureHidden: Bool) throws -> (logits: [Float], hidden: [Float]?) {
            (ids.flatMap { id in (0..<6).map { $0 == id ? 2 : Float($0) / 10 } }, nil)
        }
    }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-hostile-fixtures-\(UUID().uuidString)").path

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func int64s(_ v: [Int64], _ shape: Shape) throws -> Tensor {
        try v.withUnsafeBytes { try Tensor(dtype: .i64, shape: shape, copying: $0) }
    }

    /// Writes a text fixture with top-k outputs; `drop` leaves members out, `topk` overrides K.
    func fixture(_ name: String, ids: [Int64], topk k: Int = 2, rows: Int? = nil, drop: Set<String> = []) throws -> String {
        let r = rows ?? ids.count
        var topIds: [Int64] = [], topLogits: [Float] = [], lse: [Float] = []
        for id in ids.prefix(r) {
            let row = (0..<6).map { $0 == Int(id) ? Float(2) : Float($0) / 10 }
            let order = row.indices.sorted { row[$0] > row[$1] }
            for j in 0..<max(k, 0) { topIds.append(Int64(order[j % 6])); topLogits.append(row[order[j % 6]]) }
            lse.append(Float(log(row.map { exp(Double($0)) }.reduce(0, +))))
        }
        let meta = #"{"zoo_fixture": 1, "kind": "text", "model_type": "gpt2", "vocab_size": 6, "num_layers": 1, "topk": \#(k), "outputs": "topk"}"#
        var members: [(String, Tensor)] = [
            ("metadata", try Array(meta.utf8).withUnsafeBytes { try Tensor(dtype: .u8, shape: [meta.utf8.count], copying: $0) }),
            ("input_ids_0", try int64s(ids, [ids.count])),
            ("topk_ids_0", try int64s(topIds, [r, max(k, 0)])),
            ("topk_logits_0", try Tensor(floats: topLogits, shape: [r, max(k, 0)])),
            ("logsumexp_0", try Tensor(floats: lse, shape: [r])),
        ]
        members.removeAll { drop.contains($0.0) }
        let path = folder + "/" + name + ".fixture.npz"
        let writer = try NpzWriter(path: path, force: true)
        try writer.begin(metadata: [], tensors: members.map { TensorSpec(name: $0.0, dtype: $0.1.dtype, shape: $0.1.shape) })
        for (n, t) in members { try t.withUnsafeBytes { try writer.write(n, $0) } }
        try writer.finish()
        return path
    }

    func verify(_ path: String) throws -> VerifyReport {
        let f = try Fixture(path: path)
        return try Verifier.verify(text: OneHotModel(), fixture: f, modelName: "one-hot", dtype: "f32",
                                   tolerance: Tolerance(maxRel: 1e-6, source: "test"))
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "accepted" } catch { return "\(error)" }
    }

    func testWellFormedTopKFixturePasses() throws {
        let report = try verify(try fixture("good", ids: [1, 4, 0]))
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.checks.count, 1)
        XCTAssertEqual(report.summary.top1, 1)
        XCTAssertLessThan(report.summary.maxRel, 1e-6)
    }

    func testIdsAreReadExactly() throws {
        let f = try Fixture(path: try fixture("big-ids", ids: [16_777_217, Int64.max, -1]))
        XCTAssertEqual(f.samples.first?.inputIds, [16_777_217, Int.max, -1])
        XCTAssertTrue(message { try self.verify(try self.fixture("max-id", ids: [Int64.max])) }
            .contains("prompt 0 holds token id 9223372036854775807, outside this model's vocabulary"))
    }

    func testTopKMembersMustMatchTheirShapes() throws {
        let short = message { try self.verify(try self.fixture("short", ids: [1, 2, 3], rows: 2)) }
        XCTAssertTrue(short.contains("topk_ids_0 must be [3, 2] (a row per input position), found 4 values"), short)
        let noLSE = message { try self.verify(try self.fixture("no-lse", ids: [1, 2], drop: ["logsumexp_0"])) }
        XCTAssertTrue(noLSE.contains("logsumexp_0 must be [2] (a row per input position), found no such member"), noLSE)
        let zeroK = message { try self.verify(try self.fixture("k0", ids: [1, 2], topk: 0)) }
        XCTAssertTrue(zeroK.contains("topk is 0; expected 1...6"), zeroK)
        let bigK = message { try self.verify(try self.fixture("k7", ids: [1], topk: 7)) }
        XCTAssertTrue(bigK.contains("topk is 7; expected 1...6"), bigK)
    }
}
