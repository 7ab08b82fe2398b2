import ArgumentParser
import Foundation
import RegistryClient
import RegistryDocuments

/// `imi-sync types`: the worktree types `scan` classifies worktrees by (the old CLI's
/// `imi types`), listed, added and removed.
struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "List, add or remove the worktree types scan classifies worktrees by.",
        discussion: """
            A worktree whose directory name starts with a type's worktree prefix (feat-, fix-…) \
            is registered with that type by `scan` and `run`. Adding and removing types needs \
            the registry owner's role (the agent roles may only read them).
            """,
        subcommands: [TypesList.self, TypesAdd.self, TypesRemove.self],
        defaultSubcommand: TypesList.self)
}

struct TypesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the worktree types.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    /// The plan's `imi types list --json` keys, and whether the type is built in.
    struct Row: Encodable {
        var name: String
        var worktreePrefix: String
        var branchPrefix: String
        @NullWhenAbsent var description: String?
        var builtIn: Bool
        var activeWorktrees: Int

        init(_ type: WorktreeTypeRecord) {
            name = type.name
            worktreePrefix = type.worktreePrefix
            branchPrefix = type.branchPrefix
            description = type.description
            builtIn = type.builtIn
            activeWorktrees = type.activeWorktrees
        }
    }

    func run() throws {
        _ = global.makeLogger()
        let rows = try global.openRegistry().worktreeTypes().map(Row.init)
        if json {
            print(JSONOutput.render(["types": rows]))
            return
        }
        var table = TextTable(
            headers: ["TYPE", "WORKTREE PREFIX", "BRANCH PREFIX", "WORKTREES", "DESCRIPTION"], rightAligned: [3])
        table.rows = rows.map { row in
            [
                row.name.displayQuoted + (row.builtIn ? " (built in)" : ""), row.worktreePrefix.displayQuoted,
                row.branchPrefix.displayQuoted, String(row.activeWorktrees), row.description?.displayQuoted ?? "-",
            ]
        }
        print(table.render())
    }
}

struct TypesAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a worktree type; the next scan classifies by it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The type's name, one word (e.g. spike).")
    var name: String

    @Option(name: .long, help: "Directory-name prefix that marks a worktree of this type (e.g. spike-).")
    var worktreePrefix: String

    @Option(name: .long, help: "Branch-name prefix of this type (e.g. spike/).")
    var branchPrefix: String

    @Option(name: .long, help: "What the type is for.")
    var description: String?

    @Flag(name: .long, help: "Print the added type as one JSON document.")
    var json = false

    func run() throws {
        _ = global.makeLogger()
        let added = try global.openRegistry().addWorktreeType(
            name: name, worktreePrefix: worktreePrefix, branchPrefix: branchPrefix, description: description)
        if json {
            print(JSONOutput.render(TypesList.Row(added)))
        } else {
            print("added worktree type \(added.name.displayQuoted) (worktree prefix \(added.worktreePrefix.displayQuoted))")
        }
    }
}

struct TypesRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a custom worktree type.",
        discussion: "Refused while any worktree row uses it; built-in types are never removed.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The type's name.")
    var name: String

    func run() throws {
        _ = global.makeLogger()
        try global.openRegistry().removeWorktreeType(named: name)
        print("removed worktree type \(name.displayQuoted)")
    }
}
