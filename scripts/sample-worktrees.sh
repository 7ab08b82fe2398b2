#!/usr/bin/env bash
# Creates sample iMi projects on disk, laid out as iMi does (<root>/<project>/trunk-<branch>
# plus sibling worktrees made with `git worktree add`), in a spread of states, and prints one
# tab-separated line per worktree: project, default branch, worktree name, type, branch, path.
#   sample-worktrees.sh ROOT
set -euo pipefail
root=$(realpath -m "${1:?root directory}")
rm -rf "$root"
mkdir -p "$root"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com
g() { git -c init.defaultBranch=main -c advice.detachedHead=false "$@" >/dev/null 2>&1; }

# project <name> <default branch>: a bare origin and the trunk clone with origin/HEAD set.
project() {
    local name=$1 branch=$2
    g init --bare -b "$branch" "$root/.origins/$name.git"
    g clone "$root/.origins/$name.git" "$root/$name/trunk-$branch"
    local trunk="$root/$name/trunk-$branch"
    g -C "$trunk" checkout -b "$branch"
    printf '# %s\n' "$name" > "$trunk/README.md"
    mkdir -p "$trunk/src" && printf 'fn main() {}\n' > "$trunk/src/main.rs"
    g -C "$trunk" add -A && g -C "$trunk" commit -m "Initial commit"
    g -C "$trunk" push -u origin "$branch"
    g -C "$trunk" remote set-head origin "$branch"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$branch" "trunk-$branch" trunk "$branch" "$trunk"
}

# worktree <project> <branch> <dir> <type>: `git worktree add` beside the trunk.
worktree() {
    local name=$1 branch=$2 dir=$3 type=$4 trunk
    trunk=$(ls -d "$root/$name"/trunk-*)
    g -C "$trunk" worktree add -b "$branch" "$root/$name/$dir"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(basename "$trunk" | sed 's/^trunk-//')" "$dir" "$type" "$branch" "$root/$name/$dir"
}

project api main
worktree api feat/login feat-login feat
echo "draft" > "$root/api/feat-login/login.rs"                       # untracked
echo "// edit" >> "$root/api/feat-login/src/main.rs"                  # modified
worktree api "fix/quote" "fix-quote's edge" fix
echo "fixed" > "$root/api/fix-quote's edge/fix.txt"
g -C "$root/api/fix-quote's edge" add -A
g -C "$root/api/fix-quote's edge" commit -m "Fix O'Brien's \"quoted\" path; DROP TABLE worktrees; --"

project web develop
worktree web aiops/agent-1 aiops-agent-1 aiops
trunk="$root/web/trunk-develop"
echo "newer" > "$trunk/CHANGELOG.md"
g -C "$trunk" add -A && g -C "$trunk" commit -m "Trunk moves on" && g -C "$trunk" push origin develop
wt="$root/web/aiops-agent-1"
echo "agent work" > "$wt/agent.txt" && g -C "$wt" add -A && g -C "$wt" commit -m "Agent work"  # diverged
worktree web review/pr-7 "pr-7" review
g -C "$root/web/pr-7" reset --hard HEAD                                 # clean

# A worktree registered but deleted from disk: reported, its stored state kept.
printf '%s\t%s\t%s\t%s\t%s\t%s\n' web develop feat-gone feat feat/gone "$root/web/feat-gone"
