import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ZooTensor
@testable import ZooVerify

final class MetricsTests: XCTestCase {
    func testCompareClosedForms() {
        // Reference [2, 3]; one value off by 0.5; max |ref| = 4.
        let ref: [Float] = [1, 2, 4, 0, -1, 3]
        var got = ref
        got[4] = -1.5
        let c = Metrics.compare(got, ref, width: 3, distributions: true)
        XCTAssertEqual(c.maxAbs, 0.5)
        XCTAssertEqual(c.maxRel, 0.125)
        XCTAssertEqual(c.worstRow, 1)
        XCTAssertEqual(c.worstColumn, 1)
        XCTAssertEqual(c.top1, 1)
        // KL(P || Q) for P = softmax([0, -1, 3]) and Q = softmax([0, -1.5, 3]), by hand.
        let p = [0.0, -1.0, 3.0].map { exp($0) }, q = [0.0, -1.5, 3.0].map { exp($0) }
        let sp = p.reduce(0, +), sq = q.reduce(0, +)
        let kl = zip(p, q).map { ($0 / sp) * log(($0 / sp) / ($1 / sq)) }.reduce(0, +)
        XCTAssertEqual(c.meanKL ?? -1, kl / 2, accuracy: 1e-12)
        XCTAssertEqual(Metrics.compare(ref, ref, width: 3, distributions: true).cosine, 1, accuracy: 1e-12)
    }

    func testKLOfUniformAgainstPeaked() {
        // P uniform over 2, Q = (0.8, 0.2): KL = 0.5 ln(0.5/0.8) + 0.5 ln(0.5/0.2).
        let q: [Float] = [log(0.8), log(0.2)]
        let expected = 0.5 * log(0.5 / 0.8) + 0.5 * log(0.5 / 0.2)
        XCTAssertEqual(Metrics.klDivergence(reference: [0, 0], other: q), expected, accuracy: 1e-7)
    }

    func testTopKComparisonMatchesFullWhenKIsTheVocabulary() {
        let v = 5
        let ref: [Float] = [0.5, -1, 2, 0.25, 1, 3, 0, -2, 1, 0.5]
        var got = ref
        got[7] += 0.3
        var ids: [Int] = [], top: [Float] = [], lse: [Float] = []
        for row in 0..<2 {
            let r = Array(ref[(row * v)..<((row + 1) * v)])
            let order = r.indices.sorted { r[$0] > r[$1] }
            ids += order; top += order.map { r[$0] }
            lse.append(Float(log(r.map { exp(Double($0)) }.reduce(0, +))))
        }
        let full = Metrics.compare(got, ref, width: v, distributions: true)
        let k = Metrics.compareTopK(got, vocabulary: v, ids: ids, logits: top, logSumExp: lse, k: v)
        XCTAssertEqual(k.meanKL ?? -1, full.meanKL ?? -2, accuracy: 1e-6)
        XCTAssertEqual(k.top1, full.top1)
    }

    func testJUnitIsValidXMLAndNamesFailures() throws {
        var c = Comparison()
        c.maxRel = 0.5; c.maxAbs = 1; c.rows = 2; c.worstRow = 1; c.worstColumn = 7
        let failing = OutputCheck(name: "prompt 0 <&>", comparison: c, passed: false, firstDivergentLayer: (layer: 1, maxRel: 0.2), layerMaxRel: [1e-6, 0.2])
        let passing = OutputCheck(name: "logits", comparison: Comparison(), passed: true, firstDivergentLayer: nil, layerMaxRel: [])
        let reports = [
            VerifyReport(fixture: "a \"x\".npz", model: "m", dtype: "f32", tolerance: Tolerance(maxRel: 1e-4, source: "default"), checks: [failing], reference: "transformers"),
            VerifyReport(fixture: "b.npz", model: "m", dtype: "q8_0", tolerance: Tolerance(maxRel: 3e-2, source: "fixture"), checks: [passing], reference: "timm"),
        ]
        let xml = Reports.junit(reports, seconds: 1.5)
        final class Counter: NSObject, XMLParserDelegate {
            var testcases = 0, failures = 0
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "testcase" { testcases += 1 }
                if name == "failure" { failures += 1 }
            }
        }
        let parser = XMLParser(data: Data(xml.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "JUnit output is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")\n\(xml)")
        XCTAssertEqual(counter.testcases, 2)
        XCTAssertEqual(counter.failures, 1)
        let table = Reports.table(reports)
        XCTAssertTrue(table.contains("position 1, index 7"), table)
        XCTAssertTrue(table.contains("first divergent block: layer 1"), table)
        let json = Reports.json(reports)
        XCTAssertEqual(json["passed"], .bool(false))
        XCTAssertEqual(json["results"]?.array?.first?["outputs"]?.array?.first?["first_divergent_layer"]?["layer"], .int(1))
    }

    func testCommittedFixturesLoad() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let text = try Fixture(path: root + "/fixtures/gpt2/tiny-a.fixture.npz")
        XCTAssertEqual(text.kind, .text)
        XCTAssertEqual(text.numLayers, 2)
        XCTAssertEqual(text.samples.count, text.prompts.count)
        XCTAssertEqual(text.samples[0].logits?.count, text.samples[0].inputIds.count * 451)
        XCTAssertEqual(text.tolerance(for: "f32"), 1e-4)
        let topk = try Fixture(path: root + "/fixtures/gpt2/tiny-sharded.fixture.npz")
        XCTAssertNil(topk.samples[0].logits)
        XCTAssertEqual(topk.topK, 10)
        let image = try Fixture(path: root + "/fixtures/vit/hf-tiny.fixture.npz")
        XCTAssertEqual(image.kind, .image)
        XCTAssertEqual(image.pixelValues?.shape.dims.count, 4)
        XCTAssertThrowsError(try Fixture(path: root + "/formats/golden/stored.npz")) { XCTAssertTrue("\($0)".contains("not a Zoo fixture")) }
    }
}
