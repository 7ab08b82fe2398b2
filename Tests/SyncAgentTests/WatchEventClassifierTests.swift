import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

@testable import SyncAgent
@testable import LinuxPlatform
@testable import WorktreeProbing

/// What events mean, decided from the watch set alone: no kernel, no git.
@Suite("the watch event classifier", .ownThreads)
struct WatchEventClassifierTests {
    private static let root = FilePath("/code/app/trunk-main")

    /// One worktree `w` at `root`: its top (1), `src` (2), its git directory (3), refs/heads
    /// (4), info/ (5); a membership watch on the roots (6) and an external one on ~ (7),
    /// where `.gitconfig` matters.
    private func makeSet() -> WatchSet {
        var set = WatchSet()
        set.worktrees["w"] = WatchSet.Worktree(root: Self.root, gitDirectory: Self.root.appending(".git"))
        set.add(1, path: Self.root, owner: .worktree("w"), role: .tree)
        set.add(2, path: Self.root.appending("src"), owner: .worktree("w"), role: .tree)
        set.add(3, path: Self.root.appending(".git"), owner: .worktree("w"), role: .gitDirectory)
        set.add(4, path: Self.root.appending(".git/refs/heads"), owner: .worktree("w"), role: .refs)
        set.add(5, path: Self.root.appending(".git/info"), owner: .worktree("w"), role: .info)
        set.add(6, path: "/code", owner: .membership, role: .membership)
        set.membership["/code"] = [.skeleton]
        set.add(7, path: "/home/me", owner: .external, role: .external)
        set.externalInterest["/home/me"] = [".gitconfig"]
        return set
    }

    private func event(_ watch: Int32, _ mask: Int32, _ name: String? = nil) -> InotifyEvent {
        InotifyEvent(watch: watch, mask: UInt32(mask), name: name.map { Array($0.utf8) })
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var events: [InotifyEvent]
        var changed: [String: WorktreeChanges]
        var refresh: Set<String> = []
        var indexChanged: Set<String> = []
        var created: [FilePath] = []
        var signals: [WatchSignal]? = nil
        var testDescription: String { label }
    }

    static let cases: [Case] = {
        func event(_ watch: Int32, _ mask: Int32, _ name: String? = nil) -> InotifyEvent {
            InotifyEvent(watch: watch, mask: UInt32(mask), name: name.map { Array($0.utf8) })
        }
        return [
            Case(label: "a file edited in a subdirectory is that path",
                 events: [event(2, IN_MODIFY, "main.swift")], changed: ["w": .files([Array("src/main.swift".utf8)])]),
            Case(label: "a file at the top has no directory prefix",
                 events: [event(1, IN_CREATE, "README.md")], changed: ["w": .files([Array("README.md".utf8)])]),
            Case(label: "a .gitignore written needs a full status and a new walk",
                 events: [event(2, IN_MODIFY, ".gitignore")], changed: ["w": .everything], refresh: ["w"]),
            Case(label: "a new directory needs a full status and is walked",
                 events: [event(1, IN_CREATE | IN_ISDIR, "docs")], changed: ["w": .everything],
                 created: [root.appending("docs")]),
            Case(label: "the index rewritten is a full status and a look at ignored directories",
                 events: [event(3, IN_MOVED_TO, "index")], changed: ["w": .everything], indexChanged: ["w"]),
            Case(label: "lock files in the git directory are nothing",
                 events: [event(3, IN_CREATE, "index.lock"), event(4, IN_CREATE, "main.lock")], changed: [:]),
            Case(label: "info/exclude written walks again",
                 events: [event(5, IN_MODIFY, "exclude")], changed: ["w": .everything], refresh: ["w"]),
            Case(label: "a directory under the roots is a membership pass, not a change",
                 events: [event(6, IN_CREATE | IN_ISDIR, "new-project")], changed: [:],
                 signals: [.membership([.roots])]),
            Case(label: "a file under the roots is nothing",
                 events: [event(6, IN_CREATE, "notes.txt")], changed: [:], signals: []),
            Case(label: "the global config written walks every worktree again",
                 events: [event(7, IN_MODIFY, ".gitconfig")], changed: ["w": .everything], refresh: ["w"]),
            Case(label: "another file in the home directory is nothing",
                 events: [event(7, IN_MODIFY, ".bashrc")], changed: [:], signals: []),
            Case(label: "an overflow is one signal however often it comes",
                 events: [event(-1, IN_Q_OVERFLOW), event(-1, IN_Q_OVERFLOW)], changed: [:], signals: [.overflow]),
            Case(label: "an unknown descriptor (already removed) is nothing",
                 events: [event(99, IN_MODIFY, "x")], changed: [:], signals: []),
        ]
    }()

    @Test("events mean what the table says", arguments: cases)
    func classifies(_ item: Case) {
        var set = makeSet()
        let outcome = WatchEventClassifier.classify(item.events, in: &set)
        #expect(outcome.changed == item.changed)
        #expect(outcome.refresh == item.refresh)
        #expect(outcome.indexChanged == item.indexChanged)
        #expect(outcome.createdDirectories.map(\.path) == item.created)
        if let signals = item.signals { #expect(outcome.signals == signals) }
    }

    @Test("git's index lock and rebase directories in a worktree's own git directory mark an operation, in order")
    func operationMarks() {
        var set = makeSet()
        let outcome = WatchEventClassifier.classify([
            event(3, IN_CREATE, "index.lock"), event(3, IN_CREATE | IN_ISDIR, "rebase-merge"),
            event(3, IN_MOVED_FROM, "index.lock"), event(3, IN_MOVED_TO, "index"),
            event(3, IN_DELETE | IN_ISDIR, "rebase-merge"), event(3, IN_CREATE, "HEAD.lock"),
        ], in: &set)
        #expect(outcome.operations == [
            GitOperationMark(worktree: "w", marker: "index.lock", begun: true),
            GitOperationMark(worktree: "w", marker: "rebase-merge", begun: true),
            GitOperationMark(worktree: "w", marker: "index.lock", begun: false),
            GitOperationMark(worktree: "w", marker: "rebase-merge", begun: false),
        ])
        #expect(outcome.changed["w"] == .everything, "the index renamed in is a change")
        #expect(outcome.signals.last == .operations(outcome.operations))
    }

    @Test("another worktree's index lock in a shared common directory is not an operation here")
    func commonDirectoryLockIsNotOurs() {
        var set = WatchSet()
        let linked = FilePath("/code/app/feat-a")
        set.worktrees["linked"] = WatchSet.Worktree(root: linked, gitDirectory: Self.root.appending(".git/worktrees/feat-a"))
        set.add(8, path: Self.root.appending(".git"), owner: .worktree("linked"), role: .gitDirectory)
        set.add(9, path: Self.root.appending(".git/worktrees/feat-a"), owner: .worktree("linked"), role: .gitDirectory)
        let common = WatchEventClassifier.classify([event(8, IN_CREATE, "index.lock")], in: &set)
        #expect(common.operations.isEmpty)
        let own = WatchEventClassifier.classify([event(9, IN_CREATE, "index.lock")], in: &set)
        #expect(own.operations == [GitOperationMark(worktree: "linked", marker: "index.lock", begun: true)])
    }

    @Test("the top directory going away forgets the worktree and frees its descriptors")
    func rootGone() {
        var set = makeSet()
        let outcome = WatchEventClassifier.classify([event(1, IN_DELETE_SELF)], in: &set)
        #expect(outcome.signals == [.rootGone("w")])
        #expect(outcome.orphanedWatches == [1, 2, 3, 4, 5])
        #expect(set.worktrees["w"] == nil)
        #expect(set.watchCount(of: .worktree("w")) == 0)
        #expect(set.count == 2)
    }

    @Test("a directory moved away drops its watches and the ignored directories below it")
    func movedAway() {
        var set = makeSet()
        set.worktrees["w"]?.ignored[Self.root.appending("src/build")] = Array("src/build".utf8)
        let outcome = WatchEventClassifier.classify([event(1, IN_MOVED_FROM | IN_ISDIR, "src")], in: &set)
        #expect(outcome.orphanedWatches == [2])
        #expect(set.worktrees["w"]?.ignored.isEmpty == true)
        #expect(outcome.changed["w"] == .everything)
    }

    @Test("a shared watch stays while another worktree owns it")
    func sharedWatch() {
        var set = makeSet()
        set.worktrees["v"] = WatchSet.Worktree(root: "/code/app/feat-x")
        set.add(4, path: Self.root.appending(".git/refs/heads"), owner: .worktree("v"), role: .refs)
        let outcome = WatchEventClassifier.classify([event(1, IN_MOVE_SELF)], in: &set)
        #expect(outcome.orphanedWatches == [1, 2, 3, 5])
        #expect(set.entry(4)?.owners == [.worktree("v"): .refs])
    }

    @Test("a watch the kernel dropped is forgotten")
    func dropped() {
        var set = makeSet()
        _ = WatchEventClassifier.classify([event(2, IN_IGNORED)], in: &set)
        #expect(set.entry(2) == nil)
        #expect(set.watchCount(of: .worktree("w")) == 4)
    }
}
