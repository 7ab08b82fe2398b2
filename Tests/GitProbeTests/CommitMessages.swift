/// Commit messages whose subject (`%s`) is easy to get wrong, with the subject git prints.
enum CommitMessages {
    static let expectedSubject: [String: String] = [
        "plain subject": "plain subject",
        "it's a \"quoted\" subject": "it's a \"quoted\" subject",
        #"back\slash \n not a newline"#: #"back\slash \n not a newline"#,
        "'; DROP TABLE worktrees; --": "'; DROP TABLE worktrees; --",
        "first line\nsecond line of the same paragraph\n\nbody text":
            "first line second line of the same paragraph",
        "subject\n\nbody\nmore body": "subject",
        "\n\n  \t\nafter blank lines": "after blank lines",
        "indented\n    continuation keeps its indent": "indented     continuation keeps its indent",
        "trailing spaces   \t\n\nbody": "trailing spaces",
        "windows line\r\nends here\r\n\r\nbody": "windows line ends here",
        "ünïcödé — 日本語 😀 ✓": "ünïcödé — 日本語 😀 ✓",
        "  leading spaces stay": "  leading spaces stay",
        "tab\tinside": "tab\tinside",
        "pipe | separated | words": "pipe | separated | words",
        "vertical\u{0B}tab is not whitespace to git\u{0B}\nnext":
            "vertical\u{0B}tab is not whitespace to git\u{0B} next",
        "line\n \nwhitespace-only line ends the paragraph": "line",
        "": "",
    ]

    static let all: [String] = expectedSubject.keys.sorted()
}
