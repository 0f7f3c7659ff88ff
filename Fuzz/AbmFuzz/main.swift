import AbmWire
import Foundation

// Two builds of one program (Fuzz/README.md):
// - with -sanitize=fuzzer and -DFUZZING: libFuzzer drives `FuzzTarget` (`AbmFuzz --target=NAME [libFuzzer flags] [CORPUS…]`);
// - a plain build: replays files through a target once (`AbmFuzz --target=NAME FILE|DIR…`), which is how a
//   crash file is checked after its fix and how the unit tests run the committed corpus.

/// `--target=NAME` (libFuzzer ignores flags that start with `--` and passes them on to its child processes).
func selectedTarget() -> FuzzTarget {
    for argument in CommandLine.arguments.dropFirst() where argument.hasPrefix("--target=") {
        if let target = FuzzTarget(rawValue: String(argument.dropFirst("--target=".count))) { return target }
        break
    }
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(Data("AbmFuzz: give --target=NAME, one of \(names)\n".utf8))
    exit(2)
}

let target = selectedTarget()

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
#else
var files: [URL] = []
for argument in CommandLine.arguments.dropFirst() where !argument.hasPrefix("-") {
    let url = URL(fileURLWithPath: argument)
    if let entries = try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil) {
        files += entries.sorted { $0.path < $1.path }
    } else {
        files.append(url)
    }
}
for file in files {
    guard let data = FileManager.default.contents(atPath: file.path) else {
        FileHandle.standardError.write(Data("AbmFuzz: cannot read \(file.path)\n".utf8))
        exit(1)
    }
    target.run([UInt8](data))
}
print("AbmFuzz: \(target.rawValue): \(files.count) inputs, no finding")
#endif
