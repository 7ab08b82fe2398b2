/// This build's version: printed by `--version` and recorded as the agent version of its host.
package enum BuildVersion {
    package static let current = "0.2.0"
}
