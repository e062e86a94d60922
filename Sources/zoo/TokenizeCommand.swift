import ArgumentParser
import Foundation
import ZooModels
import ZooTensor

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text (or, with --decode, the text of token ids).")

    @Argument(help: "Model folder with tokenizer files, or a .gguf file (default: the demo model).")
    var model: String?

    @Option(help: "The text to tokenize (with --decode: ids separated by spaces or commas).")
    var text: String?

    @Option(help: "Read the text from this UTF-8 file instead.")
    var file: String?

    @Flag(help: "Print the ids as a JSON array.")
    var json = false

    @Flag(help: "Decode ids into text.")
    var decode = false

    func run() throws {
        try runReportingErrors {
            let input = try readInput()
            let tokenizer = try ModelArgument.tokenizer(at: ModelArgument.path(model))
            if decode {
                let ids = try parseIds(input)
                print(try tokenizer.decode(ids))
                return
            }
            let ids = tokenizer.encode(input)
            if json {
                print("[" + ids.map(String.init).joined(separator: ", ") + "]")
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }

    private func readInput() throws -> String {
        switch (text, file) {
        case (let t?, nil): return t
        case (nil, let f?):
            guard let data = FileManager.default.contents(atPath: f) else { throw ZooError("cannot read the file", path: f) }
            guard let s = String(data: data, encoding: .utf8) else { throw ZooError("the file is not valid UTF-8 text", path: f) }
            return s
        case (nil, nil): throw ZooError("give the text with --text or --file")
        default: throw ZooError("give either --text or --file, not both")
        }
    }

    private func parseIds(_ s: String) throws -> [Int] {
        let pieces = s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "[" || $0 == "]" })
        return try pieces.map { piece in
            guard let id = Int(piece) else { throw ZooError("'\(piece)' is not a token id (expected integers separated by spaces or commas)") }
            return id
        }
    }
}
