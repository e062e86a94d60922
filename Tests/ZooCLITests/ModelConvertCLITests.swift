import Foundation
import XCTest
import ZooFormats
import ZooTensor

/// Model-aware conversion through the CLI: GPT-2 and ViT to GGUF and back, checked by running the
/// converted models against the reference fixtures, and the safety rules.
final class ModelConvertCLITests: XCTestCase {
    let root = ZooCLI.root

    func zoo(_ args: [String]) throws -> ZooCLI.Result { try ZooCLI.run(args) }

    func testGPT2FolderToGGUFInEveryDTypeStillMatchesTheReference() throws {
        let s = Scratch()
        for (dtype, tolerance) in [("f32", "1e-4"), ("f16", "2e-2"), ("q8_0", "3e-2")] {
            let out = s.file("tiny-sharded-\(dtype).gguf")
            let r = try zoo(["convert", root + "/fixtures/gpt2/tiny-sharded", out, "--dtype", dtype])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("re-read and checked"), r.stderr)
            let gguf = try GGUFReader(path: out)
            XCTAssertEqual(gguf.metadataValue("general.architecture"), .string("gpt2"))
            XCTAssertEqual(gguf.metadataValue("gpt2.block_count"), .uint32(3))
            XCTAssertEqual(gguf.metadataValue("gpt2.attention.layer_norm_epsilon")?.type, .float32)
            XCTAssertEqual(gguf.metadataValue("general.quantization_version"), .uint32(2))
            XCTAssertEqual(gguf.metadataValue("tokenizer.ggml.token_type")?.array?.integers()?.last, 3, "<|endoftext|> is a control token")
            XCTAssertNotNil(gguf.metadataValue("zoo.source.files"))
            XCTAssertEqual(gguf.info("position_embd.weight")?.dtype, .f32, "position embeddings stay f32 as llama.cpp keeps them")
            XCTAssertEqual(gguf.info("blk.0.attn_norm.bias")?.dtype, .f32)
            let expected: DType = dtype == "f32" ? .f32 : (dtype == "f16" ? .f16 : .q8_0)
            XCTAssertEqual(gguf.info("blk.2.ffn_up.weight")?.dtype, expected)
            XCTAssertEqual(gguf.info("output.weight")?.shape, [451, 64], "output.weight written from the tied embedding")
            let v = try zoo(["verify", out, root + "/fixtures/gpt2/tiny-sharded.fixture.npz", "--dtype", dtype == "q8_0" ? "q8_0" : "f32",
                             "--max-rel", tolerance])
            XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        }
    }

    func testGGUFMadeByGGUFPyAndZooAgree() throws {
        // tiny-a.gguf was written by gguf-py with gguf.TensorNameMap's names; Zoo's conversion of
        // the same folder must name and shape every tensor the same way.
        let s = Scratch()
        let out = s.file("tiny-a.gguf")
        XCTAssertEqual(try zoo(["convert", root + "/fixtures/gpt2/tiny-a", out]).status, 0)
        let mine = try GGUFReader(path: out), theirs = try GGUFReader(path: root + "/fixtures/gpt2/tiny-a.gguf")
        XCTAssertEqual(Set(mine.tensors.map(\.name)), Set(theirs.tensors.map(\.name)))
        for info in theirs.tensors {
            XCTAssertEqual(mine.info(info.name)?.shape, info.shape, info.name)
            XCTAssertEqual(try mine.tensor(info.name).byteArray, try theirs.tensor(info.name).byteArray, info.name)
        }
        for key in ["gpt2.block_count", "gpt2.context_length", "gpt2.embedding_length", "gpt2.feed_forward_length",
                    "gpt2.attention.head_count", "gpt2.attention.layer_norm_epsilon", "tokenizer.ggml.model",
                    "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.tokens",
                    "tokenizer.ggml.merges", "tokenizer.ggml.token_type"] {
            XCTAssertEqual(mine.metadataValue(key), theirs.metadataValue(key), key)
        }
    }

    func testGGUFToHuggingFaceFolderLoadsInTransformersWithTheSameLogits() throws {
        let s = Scratch()
        let gguf = s.file("m.gguf"), folder = s.file("hf")
        XCTAssertEqual(try zoo(["convert", root + "/fixtures/gpt2/tiny-bf16-bare", gguf, "--dtype", "f32"]).status, 0)
        let r = try zoo(["convert", gguf, folder, "--to", "hf"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dump = s.file("zoo-logits.npy")
        let prompt = "Hello world, this is a tiny GPT-2 model."
        let run = try zoo(["run", folder, "--prompt", prompt, "--max-tokens", "0", "--dump-logits", dump])
        XCTAssertEqual(run.status, 0, run.stderr)
        let script = """
        import sys; sys.path.insert(0, sys.argv[3] + "/fixtures")
        import torchvision_shim, numpy as np, torch, transformers
        folder, dump = sys.argv[1], sys.argv[2]
        m = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
        tok = transformers.AutoTokenizer.from_pretrained(folder)
        ids = tok(sys.argv[4])["input_ids"]
        with torch.no_grad():
            ref = m(torch.tensor([ids])).logits[0].numpy()
        z = np.load(dump)
        print(float(np.abs(z - ref).max() / np.abs(ref).max()))
        """
        guard let (status, output) = runPython(script, arguments: [folder, dump, root, prompt], modules: ["torch", "transformers", "numpy"]) else {
            throw XCTSkip("python3 with torch and transformers is not available; the folder was written and re-read by Zoo only")
        }
        XCTAssertEqual(status, 0, output)
        let rel = Double(output.split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "") ?? .infinity
        XCTAssertLessThan(rel, 1e-4, output)
    }

    func testViTRoundTripsThroughGGUFAndBetweenConventions() throws {
        let s = Scratch()
        let gguf = s.file("hf-tiny.gguf")
        XCTAssertEqual(try zoo(["convert", root + "/fixtures/vit/hf-tiny", gguf]).status, 0)
        let v = try zoo(["verify", gguf, root + "/fixtures/vit/hf-tiny.fixture.npz"])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        let back = s.file("hf-back")
        XCTAssertEqual(try zoo(["convert", gguf, back, "--to", "hf"]).status, 0)
        try assertSameTensors(root + "/fixtures/vit/hf-tiny/model.safetensors", back + "/model.safetensors")
        let timmAsHF = s.file("timm-as-hf"), timmBack = s.file("timm-back")
        XCTAssertEqual(try zoo(["convert", root + "/fixtures/vit/timm-tiny", timmAsHF, "--to", "hf"]).status, 0)
        XCTAssertEqual(try zoo(["verify", timmAsHF, root + "/fixtures/vit/timm-tiny.fixture.npz", "--max-rel", "1e-4"]).status, 0,
                       "the HF folder made from a timm checkpoint computes the same logits (eps carried over)")
        XCTAssertEqual(try zoo(["convert", timmAsHF, timmBack, "--to", "timm"]).status, 0)
        try assertSameTensors(root + "/fixtures/vit/timm-tiny/model.safetensors", timmBack + "/model.safetensors")
    }

    func assertSameTensors(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try SafetensorsReader(path: a), y = try SafetensorsReader(path: b)
        XCTAssertEqual(Set(x.tensorNames), Set(y.tensorNames), file: file, line: line)
        for name in x.tensorNames {
            XCTAssertEqual(x.info(name)?.dtype, y.info(name)?.dtype, name, file: file, line: line)
            XCTAssertEqual(try x.tensor(name).byteArray, try y.tensor(name).byteArray, name, file: file, line: line)
        }
    }

    func testSafetyRules() throws {
        let s = Scratch()
        let out = s.file("exists.gguf")
        _ = FileManager.default.createFile(atPath: out, contents: Data([1, 2, 3]))
        var r = try zoo(["convert", root + "/fixtures/gpt2/tiny-a", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--force"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), Data([1, 2, 3]), "the existing file is untouched")

        // A source tensor with the wrong shape: a clear error naming it, and no output.
        let bad = s.file("bad-model")
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        for f in ["config.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: root + "/fixtures/gpt2/tiny-a/" + f, toPath: bad + "/" + f)
        }
        let source = try SafetensorsReader(path: root + "/fixtures/gpt2/tiny-a/model.safetensors")
        let writer = try SafetensorsWriter(path: bad + "/model.safetensors", force: false)
        let broken = "transformer.h.1.mlp.c_fc.weight"
        try writer.begin(metadata: [], tensors: source.tensors.map { info in
            info.name == broken ? TensorSpec(name: info.name, dtype: info.dtype, shape: [info.shape.dims[1], info.shape.dims[0]])
                : TensorSpec(name: info.name, dtype: info.dtype, shape: info.shape)
        })
        for info in source.tensors { try source.tensor(info.name).withUnsafeBytes { try writer.write(info.name, $0) } }
        try writer.finish()
        let target = s.file("bad.gguf")
        r = try zoo(["convert", bad, target])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(broken), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.contains("zoo-tmp") }, [])
    }

    /// A conversion killed by SIGINT or SIGTERM midway leaves neither the output nor a temporary file.
    func testInterruptedConversionLeavesNothing() throws {
        let s = Scratch()
        // A model big enough that converting it takes a while: 12 layers of 512 wide, ~150 MB in f32.
        let folder = s.file("big")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let c = 512, layers = 12, vocab = 451, positions = 64
        for f in ["vocab.json", "merges.txt"] { try FileManager.default.copyItem(atPath: root + "/fixtures/gpt2/tiny-a/" + f, toPath: folder + "/" + f) }
        try #"{"model_type": "gpt2", "n_embd": 512, "n_layer": 12, "n_head": 8, "n_positions": 64, "vocab_size": 451}"#
            .write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        var specs: [TensorSpec] = [TensorSpec(name: "wte.weight", dtype: .f32, shape: [vocab, c]), TensorSpec(name: "wpe.weight", dtype: .f32, shape: [positions, c])]
        for l in 0..<layers {
            let p = "h.\(l)."
            specs += [TensorSpec(name: p + "ln_1.weight", dtype: .f32, shape: [c]), TensorSpec(name: p + "ln_1.bias", dtype: .f32, shape: [c]),
                      TensorSpec(name: p + "attn.c_attn.weight", dtype: .f32, shape: [c, 3 * c]), TensorSpec(name: p + "attn.c_attn.bias", dtype: .f32, shape: [3 * c]),
                      TensorSpec(name: p + "attn.c_proj.weight", dtype: .f32, shape: [c, c]), TensorSpec(name: p + "attn.c_proj.bias", dtype: .f32, shape: [c]),
                      TensorSpec(name: p + "ln_2.weight", dtype: .f32, shape: [c]), TensorSpec(name: p + "ln_2.bias", dtype: .f32, shape: [c]),
                      TensorSpec(name: p + "mlp.c_fc.weight", dtype: .f32, shape: [c, 4 * c]), TensorSpec(name: p + "mlp.c_fc.bias", dtype: .f32, shape: [4 * c]),
                      TensorSpec(name: p + "mlp.c_proj.weight", dtype: .f32, shape: [4 * c, c]), TensorSpec(name: p + "mlp.c_proj.bias", dtype: .f32, shape: [c])]
        }
        specs += [TensorSpec(name: "ln_f.weight", dtype: .f32, shape: [c]), TensorSpec(name: "ln_f.bias", dtype: .f32, shape: [c])]
        let writer = try SafetensorsWriter(path: folder + "/model.safetensors", force: false)
        try writer.begin(metadata: [], tensors: specs)
        let pattern = (0..<(4 * c * c)).map { Float(($0 * 7919) % 1000) / 5000 - 0.1 }
        for spec in specs {
            try pattern.withUnsafeBytes { try writer.write(spec.name, UnsafeRawBufferPointer(rebasing: $0[0..<(spec.shape.count * 4)])) }
        }
        try writer.finish()
        for sig in [SIGINT, SIGTERM] {
            // The conversion takes a fraction of a second, so the signal can come after it finished;
            // then the output must be whole (and is removed for the next attempt). Up to 5 attempts
            // until one is really interrupted, which is what the test is about.
            var interrupted = false
            for attempt in 1...5 where !interrupted {
                let out = s.file("big-\(sig)-\(attempt).gguf")
                let p = Process()
                p.executableURL = ZooCLI.executable
                p.arguments = ["convert", folder, out, "--dtype", "q8_0"]
                p.standardError = FileHandle.nullDevice
                try p.run()
                // Wait until the temporary output exists (the conversion is writing), then interrupt.
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline && p.isRunning {
                    if (try? FileManager.default.contentsOfDirectory(atPath: s.path))?.contains(where: { $0.contains("zoo-tmp") }) == true { break }
                    usleep(500)
                }
                kill(p.processIdentifier, sig)
                let stop = Date().addingTimeInterval(30)
                while p.isRunning && Date() < stop { usleep(10_000) }
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    XCTFail("signal \(sig) did not stop the conversion within 30 s")
                }
                p.waitUntilExit()
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.contains("zoo-tmp") }
                XCTAssertEqual(leftovers, [], "signal \(sig): the temporary file is removed")
                if p.terminationReason == .exit && p.terminationStatus == 0 {
                    // finished before the signal: the output is a whole, readable GGUF
                    let check = Process()
                    check.executableURL = ZooCLI.executable
                    check.arguments = ["inspect", out]
                    check.standardOutput = FileHandle.nullDevice
                    check.standardError = FileHandle.nullDevice
                    try check.run()
                    check.waitUntilExit()
                    XCTAssertEqual(check.terminationStatus, 0, "signal \(sig): a finished conversion left a readable file")
                    try? FileManager.default.removeItem(atPath: out)
                } else {
                    interrupted = true
                    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "signal \(sig): no partial output")
                }
            }
            XCTAssertTrue(interrupted, "signal \(sig): no attempt was interrupted mid-conversion")
        }
    }
}
