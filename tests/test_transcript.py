"""transcript.py: streamed agent output as lines a person reads, from the recorded fixtures."""

import os
import unittest

from orchestra.transcript import STREAMING, Transcript, render_line, Marks

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "agent_output")


def rendered(fmt, name, step=37, unicode=True):
    with open(os.path.join(FIXTURES, fmt, name), "rb") as f:
        data = f.read()
    t = Transcript(fmt, unicode)
    out = b"".join(t.feed(data[i:i + step]) for i in range(0, len(data), step))
    return (out + t.feed(b"", final=True)).decode("utf-8")


class TranscriptTest(unittest.TestCase):
    def test_claude_steps_one_line_each(self):
        text = rendered("claude-stream-json", "success.log")
        self.assertEqual(text.splitlines()[1:], [
            "· session 5b2f8d4e-9a1c-4e7b-8f3d-2c6a0e9b1d7f (claude-sonnet-4-5)",
            "⚙ Bash curl -s -o /dev/null -w '%{http_code}' https://api.example.test/",
            "  ↳ 429 Too Many Requests: rate limit exceeded",
            "· rate limit allowed_warning (five_hour)",
            "» The test server throttles; I added a retry with backoff to the client.",
            "✔ success: The test server throttles; I added a retry with backoff to the client."])
        self.assertTrue(text.startswith("=== orchestra: task_"))  # headers pass as they are

    def test_every_streaming_format_renders_its_fixtures_without_json(self):
        for fmt in STREAMING:
            for name in os.listdir(os.path.join(FIXTURES, fmt)):
                text = rendered(fmt, name, step=5)
                self.assertNotIn('{"type"', text, f"{fmt}/{name}")
                self.assertEqual(text, rendered(fmt, name, step=100000), f"{fmt}/{name}")

    def test_codex_and_ascii(self):
        text = rendered("codex-jsonl", "success.log", unicode=False)
        lines = text.splitlines()
        for line in ("$ bash -lc ls", "x Reconnecting... 1/5 (stream disconnected before "
                     "completion: 429 Too Many Requests)", "  -> exit 0: README.md orchestra tests",
                     "> Added the flag and a test for it.", "= turn done: 24763 tokens in, 122 out"):
            self.assertIn(line, lines)
        self.assertTrue(text.isascii())

    def test_gemini_s_stream_one_line_a_step(self):
        text = rendered("gemini-stream-json", "real_success.log")
        self.assertEqual(text.splitlines(), [
            "· session edcd14a2-5758-4b5d-9383-a17d9890df4d (auto)", "» ok",
            "✔ success (80 tokens in, 24 out)"])
        lines = rendered("gemini-stream-json", "real_api_error.log").splitlines()
        self.assertEqual(lines[-1][:9], "✖ error: ")
        self.assertIn("API key not valid", lines[-1])
        line = ('{"type":"tool_use","tool_name":"write_file","tool_id":"w1",'
                '"parameters":{"file_path":"/p/t1.done","content":"done"}}')
        self.assertEqual(render_line("gemini-stream-json", line, Marks(True))[0][:13],
                         "⚙ write_file ")

    def test_opencode_s_last_step_is_not_told_as_the_run_s_totals(self):
        text = rendered("opencode-jsonl", "real_success.log")
        self.assertEqual(text.splitlines()[1:], [
            "⚙ bash echo 'written by the agent in its worktree' > hello.txt",
            "  ↳ (no output)",
            "⚙ write /home/me/project/.orchestra/tasks/t1.done",
            "  ↳ Wrote file successfully.",
            "» Finished: wrote hello.txt",
            "✔ done (last step: 100 tokens in, 7 out)"])

    def test_copilot_s_events_one_line_a_message_or_tool_call(self):
        self.assertEqual(rendered("copilot-jsonl", "real_success.log").splitlines()[1:], [
            "⚙ bash echo 'written by the agent in its worktree' > hello.txt",
            "  ↳ <shellId: 0 completed with exit code 0>",
            "⚙ create /tmp/cop/work-ok/t1.done",
            "  ↳ Created file /tmp/cop/work-ok/t1.done with 16 characters",
            "» Finished: wrote hello.txt",
            "✔ exit 0 (session b9c3ff76-7b96-46b2-bb99-e9defea809cb)"])
        self.assertEqual(rendered("copilot-jsonl", "real_api_error.log").splitlines()[1:], [
            "✖ 400 messages.0.content.0: the stand-in refuses this request",
            "✖ exit 1 (session 70b49c47-cc42-42df-9d41-52142b2672d4)"])

    def test_what_is_not_an_event_passes(self):
        m = Marks(True)
        for line in ("plain text", "{not json", "[1, 2]", '{"type": "unknown"}'):
            self.assertEqual(render_line("codex-jsonl", line, m),
                             [] if line.startswith('{"type"') else [line])
        long = render_line("opencode-jsonl", '{"type": "text", "part": {"text": "%s"}}'
                           % ("x" * 500), m)
        self.assertEqual((len(long[0]), long[0][-1]), (2 + 240, "…"))

    def test_a_line_past_line_max_passes_as_it_is_and_is_not_held(self):
        from unittest import mock
        with mock.patch("orchestra.transcript.LINE_MAX", 100):
            t = Transcript("claude-stream-json")
            out = t.feed(b'{"type": "assistant", ' + b"x" * 150)
            self.assertEqual((out[:22], len(t.partial)), (b'{"type": "assistant", ', 0))
            out = t.feed(b"y" * 50 + b'\n{"type": "system"}\nplain\n')
            self.assertEqual(out, b"y" * 50 + b"\nplain\n")  # the rest of it, then as usual


if __name__ == "__main__":
    unittest.main()
