import Hummingbird
import Logging

/// `run`'s `/metrics` (`[agent] metrics_listen`): Prometheus' text format, GET only, on loopback.
package enum MetricsApplication {
    package static func make(
        host: String, port: Int, logger: Logger, scrape: @escaping @Sendable () -> String
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ServeGuard(token: nil))
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: scrape())))
        }
        return Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)), logger: logger)
    }
}
