import Foundation

/// Runs a Python snippet; returns nil (after printing why) when Python or a module is missing.
public func runPython(_ script: String, arguments: [String] = [], modules: [String]) -> (status: Int32, output: String)? {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", modules.map { "import \($0)" }.joined(separator: "; ")]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    do { try probe.run() } catch { return nil }
    probe.waitUntilExit()
    if probe.terminationStatus != 0 { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
