"""The app context: what of an application tree enters it (fixed exclusions, .dockerignore), on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock import build as b
from airlock.errors import InputError
from airlock.project import Project
from tests.conftest import DEMO, clone_project, inv


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _copied(app_src: Path, dest: Path, project: Project | None = None) -> set[str]:
    """What the build copies: app_files materialized as the build does, then listed from disk."""
    b._materialize(dest, b.app_files(app_src, project))
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


# ----------------------------------------------------------- ignore rules


@pytest.mark.parametrize(
    ("ignore", "path", "excluded"),
    [
        # '*' stays within one path part, and patterns are rooted at the tree (Docker, not git)
        ("*.log", "a.log", True),
        ("*.log", "logs/a.log", False),
        ("*/*.log", "logs/a.log", True),
        ("*/*.log", "logs/deep/a.log", False),
        # '**' spans any number of parts, none included
        ("**/*.log", "a.log", True),
        ("**/*.log", "x/y/z/a.log", True),
        ("**/*.log", "x/y/z/a.txt", False),
        ("docs/**", "docs/a/b.md", True),
        ("docs/**", "doc/a.md", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/x/y/c", False),
        # a pattern that names a folder leaves out everything inside it
        ("build", "build/out/x.o", True),
        ("build", "src/build", False),
        # leading '/' is the tree's root (changes nothing), trailing '/' is cleaned away
        ("/secret.txt", "secret.txt", True),
        ("/secret.txt", "sub/secret.txt", False),
        ("build/", "build/x", True),
        ("build/", "build", True),
        ("./data//raw/", "data/raw/a.csv", True),
        # '?' is one character, not '/'; classes
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("a?b", "a/b", False),
        ("img[0-9].png", "img7.png", True),
        ("img[!0-9].png", "img7.png", False),
        ("img[!0-9].png", "imgx.png", True),
        # '!' brings a path back; the last matching rule wins
        ("*.md\n!README.md", "README.md", False),
        ("*.md\n!README.md", "NOTES.md", True),
        ("!README.md\n*.md", "README.md", True),
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/drop.md", True),
        ("**\n!src\n!build.sh", "src/m.py", False),
        ("**\n!src\n!build.sh", "tests/t.py", True),
        # comments and blank lines are not patterns; '\' quotes
        ("# a.txt\n\n   \n", "a.txt", False),
        ("\\#notes", "#notes", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
    ],
)
def test_ignore_rules_follow_dockerignore_semantics(ignore: str, path: str, excluded: bool) -> None:
    """parse_ignore + ignore_excludes decide as Docker's .dockerignore does for *, **, ?, [...], /x, x/, ! and #."""
    assert b.ignore_excludes(b.parse_ignore(ignore), path) is excluded


def test_bad_ignore_pattern_names_the_file_and_line() -> None:
    """A pattern that cannot compile is one InputError naming the file and the line."""
    with pytest.raises(InputError, match=r"app/.dockerignore: line 2: bad pattern 'img\[z-a\]'") as exc:
        b.parse_ignore("ok\nimg[z-a]\n", "app/.dockerignore")
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(
    "path",
    [
        ".env", ".env.production", ".envrc", "secrets.env", "config/.env.local", "config/prod.env",
        ".env.d/token", ".git/HEAD", "sub/.git/config", ".venv/bin/python", ".hg/store", ".svn/entries",
        "pkg/__pycache__/m.cpython-311.pyc", "pkg/m.pyc", ".mypy_cache/x", ".pytest_cache/v",
    ],
)
def test_fixed_exclusions_cannot_be_brought_back(path: str) -> None:
    """Secrets (.env*, *.env), VCS, venvs and caches stay out even when .dockerignore says '!' for them."""
    rules = b.parse_ignore(f"!{path}\n!**\n")
    assert b.app_excluded(path, rules)


@pytest.mark.parametrize("path", ["environment.py", "src/env.py", "envs/a.txt", "my.envelope", "docs/dotenv.md"])
def test_names_that_only_resemble_env_files_stay_in(path: str) -> None:
    """Only names beginning with .env or ending in .env are left out as secrets."""
    assert not b.app_excluded(path)


# ----------------------------------------------------------- the real copy


def test_every_excluded_class_is_absent_from_the_copied_context(tmp_path: Path) -> None:
    """The materialized app context holds the code and none of .env*, *.env, .git, .venv, caches."""
    src = _tree(tmp_path / "app", {
        "build.sh": "true\n",
        "pkg/m.py": "x = 1\n",
        "pkg/environment.py": "x = 2\n",
        ".env": "GITHUB_TOKEN=x\n",
        ".env.production": "DB_PASSWORD=x\n",
        "secrets.env": "API_KEY=x\n",
        "config/.env.local": "X=1\n",
        "config/prod.env": "X=1\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".venv/bin/python": "",
        "pkg/__pycache__/m.cpython-311.pyc": "",
        ".pytest_cache/v/x": "",
    })
    assert _copied(src, tmp_path / "ctx") == {"app/build.sh", "app/pkg/m.py", "app/pkg/environment.py"}


def test_app_src_dot_leaves_out_the_projects_own_folders(tmp_path: Path) -> None:
    """With the project as app tree (--app-src .), artifacts/, .airlock/, .venv, .git stay out; a nested artifacts/ does not."""
    root = _tree(tmp_path / "proj", {
        "presets/x.json": "{}\n",
        "tasks.py": "\n",
        "artifacts/x/wheels/a.whl": "w",
        ".airlock/build/x/app/app/tasks.py": "\n",
        ".venv/pyvenv.cfg": "",
        ".git/HEAD": "",
        "examples/app/artifacts/readme.txt": "kept: only the project's own artifacts/ is left out\n",
    })
    got = _copied(root, tmp_path / "ctx", Project(root))
    assert got == {"app/presets/x.json", "app/tasks.py", "app/examples/app/artifacts/readme.txt"}


def test_app_src_inside_the_projects_artifacts_is_refused(tmp_path: Path) -> None:
    """An app tree inside artifacts/ (the store) is an InputError naming it."""
    root = _tree(tmp_path / "proj", {"presets/x.json": "{}\n", "artifacts/x/sources/a.txt": "a"})
    with pytest.raises(InputError, match=r"inside the project's artifacts/") as exc:
        b.app_files(root / "artifacts" / "x", Project(root))
    assert exc.value.exit_code == 2


def test_dockerignore_of_the_app_tree_is_honoured_with_negation(tmp_path: Path) -> None:
    """.dockerignore leaves files out, '!' brings one back (even inside a left-out folder) but never a secret."""
    src = _tree(tmp_path / "app", {
        ".dockerignore": (
            "# test data and docs stay home\n/data/\n**/*.log\ndocs\n!docs/usage.md\n*.md\n!README.md\n!.env.production\n"
        ),
        "build.sh": "true\n",
        "README.md": "r\n",
        "CHANGES.md": "c\n",
        "data/big.bin": "x",
        "src/data/table.csv": "kept: /data/ is rooted\n",
        "src/run.log": "l\n",
        "run.log": "l\n",
        "docs/usage.md": "u\n",
        "docs/internals.md": "i\n",
        ".env.production": "DB_PASSWORD=x\n",
    })
    assert _copied(src, tmp_path / "ctx") == {
        "app/.dockerignore", "app/build.sh", "app/README.md", "app/src/data/table.csv", "app/docs/usage.md",
    }


def test_dockerignore_folder_rule_without_negation_leaves_out_the_whole_folder(tmp_path: Path) -> None:
    """'node_modules/' leaves out everything below the top-level node_modules (the walk prunes it), not a nested one."""
    src = _tree(tmp_path / "app", {
        ".dockerignore": "node_modules/\n",
        "build.sh": "true\n",
        "node_modules/a/index.js": "",
        "node_modules/.bin/x": "",
        "web/node_modules/b.js": "",
    })
    assert _copied(src, tmp_path / "ctx") == {"app/.dockerignore", "app/build.sh", "app/web/node_modules/b.js"}


def test_tree_left_empty_by_exclusions_is_an_input_error(tmp_path: Path) -> None:
    """A tree holding only left-out files is 'empty', with exit 2."""
    src = _tree(tmp_path / "app", {".env": "X=1\n", "notes.md": "n\n"})
    (src / ".dockerignore").write_text("*\n")
    with pytest.raises(InputError, match="empty") as exc:
        b.app_files(src)
    assert exc.value.exit_code == 2


# ----------------------------------------------------------- symlinks


def test_app_src_symlink_loop_is_one_input_error(tmp_path: Path) -> None:
    """An app source that is a symlink loop is an InputError naming the path, not a RuntimeError."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match=rf"app source {loop}: symlink loop") as exc:
        b.app_files(loop)
    assert exc.value.exit_code == 2
    assert "\n" not in str(exc.value)


def test_symlinks_inside_the_tree_are_left_out_without_error(tmp_path: Path) -> None:
    """Links in the tree (a loop, one to the parent, one to a secret outside) are neither followed nor copied."""
    src = _tree(tmp_path / "app", {"build.sh": "true\n"})
    (tmp_path / "outside.txt").write_text("private\n")
    (src / "self").symlink_to(src / "self")
    (src / "up").symlink_to(src)
    (src / "leak.txt").symlink_to(tmp_path / "outside.txt")
    assert sorted(b.app_files(src)) == ["app/build.sh"]


def test_build_with_looping_app_src_is_one_line_exit_2(tmp_path: Path) -> None:
    """inv build --app-src <loop> --dry-run: exit 2, one line naming the path, no traceback (before the store is read)."""
    proj = clone_project(tmp_path / "p")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    proc = inv(proj, "build", "--preset", DEMO, "--app-src", str(loop), "--dry-run", "--skip-verify", timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    fix = "point app.src, AIRLOCK_APP_SRC or --app-src at a real directory"
    assert proc.stderr.strip().splitlines() == [f"airlock: error: app source {loop}: symlink loop; {fix}"]

