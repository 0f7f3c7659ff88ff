import AbmWire
import CampaignCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import CampaignGateway

/// The structured log lines and the systemd notifier, without a server.
struct OperationsSupportTests {
    static let t = Date(timeIntervalSince1970: 1_772_442_000) // 2026-03-02T09:00:00Z

    static func line(_ format: LogFormat, _ message: String, _ metadata: Logger.Metadata) -> String {
        String(decoding: StructuredLogHandler.render(format: format, time: t, level: .info, label: "abm.server",
                                                     message: message, metadata: metadata), as: UTF8.self)
    }

    @Test func logfmtQuotesOnlyWhatNeedsItAndKeepsOneEventOnOneLine() {
        let line = Self.line(.logfmt, "request refused", ["code": "not_found", "b key": "x=y", "a": "say \"hi\"\nnext\\"])
        #expect(line == #"ts=2026-03-02T09:00:00.000Z level=info logger=abm.server msg="request refused" a="say \"hi\"\nnext\\" b_key="x=y" code=not_found"# + "\n")
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(Self.line(.logfmt, "", ["empty": ""]).contains(#"msg="" empty="""#))
        #expect(Self.line(.logfmt, "x", ["ctl": "a\u{1}b"]).contains(#"ctl="a\u0001b""#))
    }

    @Test func jsonLinesParseWithTheSameKeys() throws {
        let line = Self.line(.json, "serving", ["ingress": "tcp://127.0.0.1:5570", "note": "a \"quoted\"\nline"])
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try JSONParser.parse(Array(line.dropLast().utf8))
        #expect(object == ["ts": "2026-03-02T09:00:00.000Z", "level": "info", "logger": "abm.server", "msg": "serving",
                           "ingress": "tcp://127.0.0.1:5570", "note": "a \"quoted\"\nline"])
    }

    @Test func handlerFiltersByLevelAndMergesMetadata() {
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "t") { label in
            var handler = StructuredLogHandler(label: label, format: .logfmt, level: .info, now: { Self.t },
                                               sink: { bytes in lines.withLockedValue { $0.append(String(decoding: bytes, as: UTF8.self)) } })
            handler[metadataKey: "node"] = "n1"
            return handler
        }
        logger.debug("hidden")
        logger.info("shown", metadata: ["k": "v"])
        logger[metadataKey: "node"] = "n2"
        logger.warning("again")
        #expect(lines.withLockedValue { $0 } == [
            "ts=2026-03-02T09:00:00.000Z level=info logger=t msg=shown k=v node=n1\n",
            "ts=2026-03-02T09:00:00.000Z level=warning logger=t msg=again node=n2\n",
        ])
    }

    @Test func configFileTakesTheLogFormat() throws {
        #expect(try ServerConfigFile(json: ["log_format": "json"]).logFormat == .json)
        #expect(try ServerConfigFile(json: [:]).logFormat == nil)
        do {
            _ = try ServerConfigFile(json: ["log_format": "xml"])
            Issue.record("log_format xml accepted")
        } catch {
            #expect(error.code == ErrorCode.invalidConfig && error.field == "log_format")
        }
    }

    @Test func notifierSendsADatagramToPathAndAbstractSockets() throws {
        for name in ["/tmp/abm-sd-\(UUID().uuidString.prefix(8)).sock", "@abm-sd-\(UUID().uuidString.prefix(8))"] {
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            #expect(fd >= 0)
            defer { close(fd); if !name.hasPrefix("@") { unlink(name) } }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var path = Array(name.utf8)
            if name.hasPrefix("@") { path[0] = 0 } else { path.append(0) }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            #expect(bound == 0)
            #expect(SystemdNotifier(socketPath: name).notify("READY=1\nSTATUS=serving"))
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "READY=1\nSTATUS=serving")
        }
        // Not under systemd: nothing to do, nothing fails.
        #expect(!SystemdNotifier(socketPath: nil).notify("READY=1"))
        #expect(!SystemdNotifier(socketPath: "").notify("READY=1"))
    }
}
