"""The error boundary's messages: one readable line, whatever the failing command printed."""

from __future__ import annotations

from airlock.errors import CommandError, ExitCode


def test_long_failed_command_is_one_short_line() -> None:
    """A docker build with many labels and a huge RUN line in its output: first words, context, last lines cut."""
    argv = ["/usr/bin/docker", "build", "--network=none", *(f"--label=io.airlock.k{i}={'x' * 40}" for i in range(12)), "/work/.airlock/build/p/deps"]
    run_line = "executor failed running [/bin/sh -eu -c " + "y" * 1500 + "]: exit code: 1"
    err = CommandError(argv, 1, "lots of log\n\n------\n" + run_line + "\n")
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith("command failed (exit 1): /usr/bin/docker build --network=none … /work/.airlock/build/p/deps: ")
    assert "io.airlock.k0" not in msg
    assert len(msg) < CommandError.CMD_MAX + 3 * CommandError.LINE_MAX + 80
    assert msg.endswith("…")  # the RUN line was cut
    assert err.exit_code == ExitCode.EXTERNAL and err.argv == argv  # the full command is kept for callers


def test_short_command_and_output_are_shown_whole() -> None:
    msg = str(CommandError(["tar", "-xf", "a.tar"], 2, "tar: a.tar: Cannot open\ntar: Error is not recoverable\n"))
    assert msg == "command failed (exit 2): tar -xf a.tar: tar: a.tar: Cannot open | tar: Error is not recoverable"
