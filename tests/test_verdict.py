import glob
import json
import os
import random
import sys
import unittest
from datetime import datetime, timezone
from unittest import mock

from orchestra import limits, verdict
from orchestra import lastwords
from orchestra.lastwords import last_words
from orchestra.verdict import StreamParser, Verdict, judge, parse

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "agent_output")
NOW = 1767261600.0  # 2026-01-01T10:00:00Z, the time every fixture is read at
HOUR = 3600.0


def zone_known(name):
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(name)
        return True
    except Exception:
        return False


MINUTE = 60.0  # a wall-clock reset is read as the end of the minute it names
# 4pm in Paris is 15:00 UTC in winter; without zone data the fallback reads it as 16:00 UTC.
PARIS_4PM = (NOW + 5 * HOUR if zone_known("Europe/Paris") else NOW + 6 * HOUR) + MINUTE

# fixture -> the Verdict attributes it must give (unlisted ones: False / None).
EXPECTED = {
    "claude-json/success": dict(session_id="3f9c2a71-5d0e-4b8a-9e61-2c7d4f0a8b15", has_result=True,
                                tokens_in=1204 + 8120 + 30412, tokens_out=2215, cost_usd=0.1834),
    "claude-json/error": dict(failed=True, has_result=True, tokens_in=0, tokens_out=0, cost_usd=0.0,
                              session_id="7a1d9e2b-4c6f-4f0e-8b3a-5e2d1c0b9a87",
                              message='API Error: 400 {"type":"error","error":{"type":'
                                      '"invalid_request_error","message":"prompt is too long"}}'),
    "claude-json/no_result": dict(),
    "claude-json/limit": dict(failed=True, limited=True, has_result=True, reset_at=1767279600.0,
                              message="Claude AI usage limit reached|1767279600", tokens_in=0,
                              tokens_out=0, cost_usd=0.0,
                              session_id="c4e8a2f6-1b3d-4e5f-a7c9-0d2e4f6a8b1c"),
    "claude-stream-json/success": dict(session_id="5b2f8d4e-9a1c-4e7b-8f3d-2c6a0e9b1d7f",
                                       has_result=True, tokens_in=8 + 5400 + 12050,
                                       tokens_out=168, cost_usd=0.0721),
    "claude-stream-json/error": dict(failed=True, has_result=True, message="error_max_turns",
                                     session_id="e9d8c7b6-a5f4-4e3d-9c2b-1a0f9e8d7c6b",
                                     tokens_in=9030, tokens_out=410, cost_usd=0.0402),
    "claude-stream-json/no_result": dict(session_id="1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"),
    "claude-stream-json/limit": dict(failed=True, limited=True, has_result=True,
                                     reset_at=PARIS_4PM, tokens_in=0, tokens_out=0, cost_usd=0.0,
                                     message="You've hit your limit · resets 4pm (Europe/Paris)",
                                     session_id="8f7e6d5c-4b3a-4291-8c0d-f1e2d3c4b5a6"),
    "claude-stream-json/limit_event_only": dict(limited=True, reset_at=1767272400.0,
                                                message="usage limit reached (five_hour)",
                                                session_id="2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"),
    "codex-jsonl/success": dict(session_id="0199a213-81c0-7800-8aa1-bbab2a035a53", has_result=True,
                                tokens_in=24763, tokens_out=122),
    "codex-jsonl/error": dict(failed=True, has_result=True,
                              session_id="0199a214-02d1-7a31-9c55-0e8f1b2c3d4e",
                              message="unexpected status 401 Unauthorized: Missing bearer "
                                      "authentication in header"),
    "codex-jsonl/no_result": dict(session_id="0199a215-7e6f-7b20-8d41-5a6b7c8d9e0f"),
    "codex-jsonl/limit": dict(failed=True, limited=True, has_result=True,
                              reset_at=NOW + 2 * HOUR + 5 * 60,
                              session_id="0199a216-aa10-7c02-b3e4-f5a6b7c8d9e0",
                              message="You've hit your usage limit. Try again in 2 hours 5 minutes."),
    "gemini-json/success": dict(session_id="a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d", has_result=True,
                                tokens_in=15230 + 2100, tokens_out=412 + 460 + 55),
    "gemini-json/error": dict(failed=True, has_result=True,
                              session_id="b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
                              message="Reached the maximum number of turns for this session."),
    "gemini-json/no_result": dict(),
    "gemini-json/limit": dict(failed=True, limited=True, has_result=True, reset_at=NOW + 15,
                              session_id="d5e6f7a8-b9c0-4d1e-8f2a-3b4c5d6e7f8a",
                              message="[API Error: 429 RESOURCE_EXHAUSTED. Quota exceeded for the "
                                      "requests-per-minute metric of this model. Please retry in "
                                      "15s.]"),
    # Gemini CLI 0.61.0, run against tests/gemini_api.py (its stderr in the log, as orchestra
    # gives it both streams).
    "gemini-stream-json/real_success": dict(session_id="edcd14a2-5758-4b5d-9383-a17d9890df4d",
                                            has_result=True, tokens_in=80, tokens_out=24),
    "gemini-stream-json/real_api_error": dict(
        # no session: the model never answered in it, so Gemini CLI saved none to resume
        failed=True, has_result=True, session_id=None,
        tokens_in=0, tokens_out=0, message="API key not valid. Please pass a valid API key."),
    "opencode-jsonl/success": dict(session_id="ses_4f1e2d3c4b5aAbCdEfGh", has_result=True,
                                   tokens_in=1800 + 6000 + 1200 + 150 + 7200,
                                   tokens_out=90 + 20 + 40, cost_usd=0.0042 + 0.0031),
    "opencode-jsonl/error": dict(failed=True, session_id="ses_5a6b7c8d9e0fGhIjKlMn",
                                 message="The API key was rejected by the provider."),
    "opencode-jsonl/no_result": dict(session_id="ses_6b7c8d9e0f1aHiJkLmNo", tokens_in=900,
                                     tokens_out=30, cost_usd=0.002),
    "opencode-jsonl/limit": dict(failed=True, limited=True, reset_at=NOW + 30,
                                 session_id="ses_7c8d9e0f1a2bIjKlMnOp",
                                 message="Request throttled by the provider; retry after 30 seconds."),
    # OpenCode 1.18.33, run against tests/opencode_api.py: three steps of 100 in, 7 out.
    "opencode-jsonl/real_success": dict(session_id="ses_dcbac71fcffeMZmvvP1oZy5Oa3",
                                        has_result=True, tokens_in=300, tokens_out=21,
                                        cost_usd=0.0),
    "opencode-jsonl/real_api_error": dict(failed=True, session_id="ses_dcbac3ef4ffeoE41SE1cMwGX01",
                                          message="messages.0.content.0: the stand-in refuses "
                                                  "this request"),
    # Copilot CLI 1.0.102 (--output-format json), run against tests/opencode_api.py: its
    # result names the session and exit code; its usage gives no tokens.
    "copilot-jsonl/real_success": dict(session_id="b9c3ff76-7b96-46b2-bb99-e9defea809cb",
                                       has_result=True),
    "copilot-jsonl/real_api_error": dict(failed=True, has_result=True,
                                         session_id="70b49c47-cc42-42df-9d41-52142b2672d4",
                                         message="400 messages.0.content.0: the stand-in "
                                                 "refuses this request"),
    "copilot-jsonl/real_limit": dict(failed=True, limited=True, has_result=True,
                                     reset_at=NOW + 300,
                                     session_id="1903b9b0-857e-4c06-b8a9-bd99887de5c1",
                                     message="429 Rate limit reached for standin on tokens per "
                                             "min (TPM). Please try again in 300s."),
    "cursor-stream-json/success": dict(session_id="f0e1d2c3-b4a5-4968-8776-655443322110",
                                       has_result=True),
    "cursor-stream-json/error": dict(failed=True, has_result=True,
                                     session_id="0f1e2d3c-4b5a-4697-8877-665544332211",
                                     message="The model returned an error: context window exceeded."),
    "cursor-stream-json/no_result": dict(session_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
    "cursor-stream-json/limit": dict(limited=True, reset_at=NOW + 45 * 60,
                                     session_id="2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
                                     message="Error: 429 Too Many Requests. Your plan's request limit "
                                             "resets at 2026-01-01; try again in 45m."),
    "aider-text/success": dict(tokens_in=100, tokens_out=7, cost_usd=0.01),
    "aider-text/error": dict(failed=True, message="litellm.BadRequestError: OpenAIException - "
                                                  "standin says: this request is malformed"),
    # It printed the error and "Retrying in 0.2 seconds...", then succeeded: not a limit.
    "aider-text/recovered": dict(tokens_in=100, tokens_out=7, cost_usd=0.01),
    # The retry hint sits on a wrapped line of its own.
    "aider-text/limit": dict(
        failed=True, limited=True, reset_at=NOW + 4,
        message="litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached "
                "for standin in organization org-standin on tokens per min (TPM): Limit 30000, "
                "Used 29900, Requested 1200. Please try again in 4s. The API provider has rate "
                "limited you. Try again later or check your quotas."),
    "aider-text/limit_no_hint": dict(
        failed=True, limited=True,
        message="litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached "
                "for standin in organization org-standin on tokens per min (TPM): Limit 30000, "
                "Used 29900, Requested 1200. The API provider has rate limited you. Try again "
                "later or check your quotas."),
    "text/limit": dict(limited=True, reset_at=NOW + 20, message="The API provider has rate limited "
                                                                "you. Try again later or check your quotas."),
    "text/recovered": dict(),
    "text/clean": dict(),
}
DEFAULTS = dict(failed=False, message=None, limited=False, reset_at=None, session_id=None,
                tokens_in=None, tokens_out=None, cost_usd=None, has_result=False)


def fixture(name):
    with open(os.path.join(FIXTURES, name + ".log"), encoding="utf-8") as f:
        return f.read()


def fmt_of(name):
    return name.split("/")[0]


def fed(fmt, text, sizes, now=NOW):
    """The stream parser's verdict after feeding `text` in chunks of the given sizes (cycled)."""
    p = StreamParser(fmt, lambda: now)
    i = 0
    while i < len(text):
        n = next(sizes)
        p.feed(text[i:i + n])
        i += n
    return p.verdict()


class FixtureTest(unittest.TestCase):
    def test_every_fixture_has_expectations(self):
        on_disk = {os.path.relpath(p, FIXTURES)[:-4].replace(os.sep, "/")
                   for p in glob.glob(os.path.join(FIXTURES, "*", "*.log"))}
        self.assertEqual(on_disk, set(EXPECTED))
        self.assertEqual({fmt_of(n) for n in EXPECTED}, set(verdict.FORMATS))

    def test_fixtures(self):
        for name, expected in EXPECTED.items():
            with self.subTest(name):
                v = parse(fmt_of(name), fixture(name), NOW)
                for key, want in dict(DEFAULTS, **expected).items():
                    got = getattr(v, key)
                    if isinstance(want, float) and got is not None:
                        self.assertAlmostEqual(got, want, places=6, msg=key)
                    else:
                        self.assertEqual(got, want, key)

    def test_stream_at_any_boundary_gives_the_whole_text_verdict(self):
        for name in EXPECTED:
            fmt, text = fmt_of(name), fixture(name)
            whole = parse(fmt, text, NOW)
            for seed in range(4):
                rng = random.Random(seed)
                with self.subTest(name, seed=seed):
                    self.assertEqual(fed(fmt, text, iter(lambda: rng.randint(1, 40), None)), whole)
            with self.subTest(name, chunks="one character"):
                self.assertEqual(fed(fmt, text, iter(lambda: 1, None)), whole)

    def test_verdict_midway_then_more_output(self):
        text = fixture("claude-stream-json/success")
        cut = text.index('{"type":"result"')
        p = StreamParser("claude-stream-json", lambda: NOW)
        p.feed(text[:cut + 30])  # the result line only begun
        so_far = p.verdict()
        self.assertFalse(so_far.has_result)
        self.assertEqual(so_far.session_id, "5b2f8d4e-9a1c-4e7b-8f3d-2c6a0e9b1d7f")
        p.feed(text[cut + 30:].rstrip("\n"))  # the last line never gets its newline
        self.assertEqual(p.verdict(), parse("claude-stream-json", text, NOW))
        self.assertTrue(p.verdict().has_result)


class AttemptsTest(unittest.TestCase):
    def test_only_the_last_attempt_counts(self):
        first_failed = fixture("claude-json/success")  # attempt 1 is an API error, attempt 2 works
        self.assertFalse(parse("claude-json", first_failed, NOW).failed)
        rerun = first_failed + "=== orchestra: task_x attempt 3, 2026-01-01T10:00:00.000Z: claude ===\n"
        for v in (parse("claude-json", rerun, NOW), fed("claude-json", rerun, iter(lambda: 7, None))):
            self.assertEqual(v, Verdict())

    def test_a_limit_in_an_earlier_attempt_is_forgotten(self):
        text = (fixture("codex-jsonl/limit")
                + fixture("codex-jsonl/success").replace("attempt 1", "attempt 2"))
        v = parse("codex-jsonl", text, NOW)
        self.assertFalse(v.limited or v.failed)
        self.assertEqual(v.tokens_out, 122)


class StructuredTest(unittest.TestCase):
    def test_qwen_code_s_error_result_gives_its_message(self):
        # As Qwen Code 0.15.10 printed it with no auth configured (exit 0).
        line = ('{"type":"result","subtype":"error_during_execution","session_id":"4329",'
                '"is_error":true,"usage":{"input_tokens":0,"output_tokens":0},'
                '"error":{"message":"No auth type is selected."}}')
        v = parse("claude-stream-json", line, 0.0)
        self.assertEqual((v.failed, v.message, v.session_id),
                         (True, "No auth type is selected.", "4329"))

    def test_codex_api_error_bodies_give_their_message(self):
        # As Codex 0.171 printed a 400 from the Responses API.
        body = ('{\\"error\\": {\\"message\\": \\"The model `m` does not support this.\\", '
                '\\"type\\": \\"invalid_request_error\\", \\"param\\": null}}')
        log = ('{"type":"thread.started","thread_id":"t1"}\n'
               f'{{"type":"error","message":"{body}"}}\n'
               f'{{"type":"turn.failed","error":{{"message":"unexpected status 400: {body}"}}}}\n')
        v = parse("codex-jsonl", log, NOW)
        self.assertEqual((v.failed, v.message), (True, "unexpected status 400: The model `m` "
                                                       "does not support this."))
        for text in ("{not json", '{"error": "flat"}', "{}"):
            v = parse("codex-jsonl", json.dumps({"type": "error", "message": text}) + "\n", NOW)
            self.assertEqual(v.message, text)

    def test_a_limit_the_agent_got_past_does_not_count(self):
        # codex-jsonl/success holds a "429 Too Many Requests" error event before turn.completed,
        # claude-stream-json/success a rate_limit_event that only warns and a 429 in a tool result.
        for name in ("codex-jsonl/success", "claude-stream-json/success"):
            v = parse(fmt_of(name), fixture(name), NOW)
            self.assertFalse(v.limited or v.failed, name)

    def test_stderr_limit_without_result(self):
        text = "Error: You've hit your usage limit. Try again in 10 minutes.\n"
        v = parse("codex-jsonl", text, NOW)
        self.assertEqual((v.limited, v.failed, v.reset_at), (True, False, NOW + 600))
        self.assertEqual(v.message, text.strip())

    def test_agent_limit_patterns(self):
        text = '{"type":"thread.started","thread_id":"t1"}\nnotice: plan credits exhausted\n'
        self.assertFalse(parse("codex-jsonl", text, NOW).limited)
        v = parse("codex-jsonl", text, NOW, limit_patterns=[r"credits exhausted"])
        self.assertTrue(v.limited)
        self.assertEqual(v.message, "notice: plan credits exhausted")

    def test_long_messages_are_cut(self):
        line = '{"type":"result","is_error":true,"result":"' + "x" * 2000 + '"}\n'
        v = parse("claude-json", line, NOW)
        self.assertEqual(len(v.message), verdict.MESSAGE_MAX)
        self.assertTrue(v.message.endswith("…"))

    def test_garbage_is_skipped(self):
        text = '{"type":"result", cut short\n[1, 2]\n{"type":"thread.started","thread_id":7}\n\n'
        for fmt in verdict.STRUCTURED:
            self.assertEqual(parse(fmt, text, NOW), Verdict(), fmt)

    def test_unknown_format_and_bad_pattern(self):
        with self.assertRaises(ValueError):
            parse("json", "", NOW)
        with self.assertRaisesRegex(ValueError, "not a valid regular expression"):
            StreamParser("text", lambda: NOW, ["(unclosed"])


class TextTest(unittest.TestCase):
    def test_extra_pattern_and_clock_reset(self):
        text = "working...\nQuota of 500 credits used up; resets 4pm (UTC)\n"
        self.assertFalse(parse("text", text, NOW).limited)
        v = parse("text", text, NOW, limit_patterns=[r"quota of \d+ credits used"])
        self.assertEqual((v.limited, v.reset_at, v.failed), (True, NOW + 6 * HOUR + MINUTE, False))

    def test_only_the_tail_counts(self):
        limit = "HTTP 429 from the API\n"
        after = "".join(f"line {i}\n" for i in range(verdict.TEXT_TAIL - 1))
        self.assertTrue(parse("text", limit + after + "\n  \n" * 50, NOW).limited)  # blanks don't count
        self.assertFalse(parse("text", limit + after + "one line more\n", NOW).limited)

    def test_opencode_waiting_on_a_rate_limit_says_so_in_its_warnings(self):
        # OpenCode 1.18.33 with --print-logs --log-level WARN, against a 429 with retry-after
        # 30; its stdout stays silent meanwhile.
        line = ('timestamp=2026-12-02T01:19:38.900Z level=ERROR run=ea06c02e message="stream '
                'error" providerID=standin modelID=standin session.id=ses_dcbaa1bd9ffe0gem88Iq '
                'small=false agent=build mode=primary error.error="AI_APICallError: Rate limit '
                'reached for standin on tokens per min (TPM). Please try again in 30s."\n')
        p = StreamParser("opencode-jsonl", lambda: NOW)
        p.feed('{"type":"step_start","sessionID":"ses_x","part":{"type":"step-start"}}\n' + line)
        self.assertEqual(p.waiting(), (line.strip(), NOW + 30, 0.0))

    def test_qwen_s_api_error_told_as_a_successful_answer_is_a_failure(self):
        # Qwen Code 0.15.10 (Claude's stream-json schema) on an HTTP 400; it exits 0.
        result = ('{"type":"result","subtype":"success","session_id":"a3563c24","is_error":false,'
                  '"num_turns":1,"result":"[API Error: 400 messages.0.content.0: the stand-in '
                  'refuses this request]","usage":{"input_tokens":0,"output_tokens":0}}\n')
        v = parse("claude-stream-json", result, NOW)
        self.assertEqual((v.failed, v.message, v.limited),
                         (True, "API Error: 400 messages.0.content.0: the stand-in refuses this "
                                "request", False))
        self.assertEqual(judge(v, 0, "claude-stream-json")[:2], ("failed", "agent_error"))

    def test_qwen_s_rate_limit_told_as_a_successful_answer_with_its_hint_is_a_limit(self):
        # Qwen Code 0.15.10 on an HTTP 429 it has given up retrying: its hint follows the
        # API's message on a line of its own; it exits 0.
        said = ("[API Error: 429 Rate limit reached for standin on tokens per min (TPM). Please "
                "try again in 300s.]\\nPossible quota limitations in place or slow response "
                "times detected. Please wait and try again later.")
        result = ('{"type":"result","subtype":"success","session_id":"649e1281","is_error":false,'
                  f'"num_turns":1,"result":"{said}","usage":{{"input_tokens":0}}}}\n')
        v = parse("claude-stream-json", result, NOW)
        self.assertEqual((v.failed, v.limited, v.reset_at, v.session_id),
                         (True, True, NOW + 300, "649e1281"))
        self.assertTrue(v.message.startswith("API Error: 429 Rate limit reached"), v.message)
        self.assertEqual(judge(v, 0, "claude-stream-json")[:2], ("limited", "limit"))

    def test_copilot_s_usage_events_and_an_error_it_got_past(self):
        text = ('{"type":"assistant.usage","data":{"model":"m","inputTokens":100,"outputTokens":7}}\n'
                '{"type":"session.error","data":{"message":"500 overloaded","statusCode":500}}\n'
                '{"type":"assistant.usage","data":{"inputTokens":50,"outputTokens":3}}\n'
                '{"type":"result","sessionId":"s-1","exitCode":0,"usage":{"premiumRequests":0}}\n')
        v = parse("copilot-jsonl", text, NOW)
        self.assertEqual((v.failed, v.message, v.has_result, v.session_id, v.tokens_in,
                          v.tokens_out), (False, None, True, "s-1", 150, 10))
        v = parse("copilot-jsonl", '{"type":"result","sessionId":"s-2","exitCode":2}\n', NOW)
        self.assertEqual((v.failed, v.message), (True, "exit code 2"))

    def test_opencode_limited_before_any_event_names_its_session_in_its_log(self):
        # OpenCode 1.18.33 on a 429 at its first model call: no JSON event yet, and the
        # session to resume is only in its log line.
        line = ('timestamp=2026-12-02T03:04:53.979Z level=ERROR run=ac0721a6 message="stream '
                'error" providerID=standin modelID=standin session.id=ses_dcb49c95effeL2CxmG2dHUb9fr '
                'small=false agent=build mode=primary error.error="AI_APICallError: Rate limit '
                'reached for standin on tokens per min (TPM). Please try again in 300s."\n')
        p = StreamParser("opencode-jsonl", lambda: NOW)
        p.feed(line)
        self.assertEqual(p.verdict().session_id, "ses_dcb49c95effeL2CxmG2dHUb9fr")
        self.assertEqual(p.waiting()[1], NOW + 300)
        # The session of its JSON events is the run's, whatever its log says later.
        p.feed('{"type":"step_start","sessionID":"ses_main","part":{"type":"step-start"}}\n'
               + line.replace("ses_dcb49c95effeL2CxmG2dHUb9fr", "ses_other"))
        self.assertEqual(p.verdict().session_id, "ses_main")


class BoundedTest(unittest.TestCase):
    def test_a_line_past_line_max_is_dropped_not_held(self):
        import tracemalloc
        result = '{"type":"result","subtype":"success","result":"ok","session_id":"s"}\n'
        for fmt in ("claude-stream-json", "claude-json"):
            p = StreamParser(fmt, lambda: NOW)
            chunk = "x" * (256 << 10)
            tracemalloc.start()
            try:
                for _ in range(40):  # 10 MB on one line
                    p.feed(chunk)
                p.feed("\n" + result)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            self.assertLess(peak, 4 * verdict.LINE_MAX, fmt)
            self.assertEqual((p.verdict().has_result, p.verdict().session_id), (True, "s"), fmt)

    def test_a_single_json_format_keeps_only_the_end_of_its_output(self):
        p = StreamParser("claude-json", lambda: NOW)
        noise = "progress " * 100 + "\n"
        for _ in range(2 * verdict.SINGLE_MAX // len(noise)):
            p.feed(noise)
        p.feed('{"type":"result","subtype":"success","result":"ok","session_id":"s"}\n')
        self.assertLessEqual(p._run.buf_len, verdict.SINGLE_MAX)
        self.assertEqual(p.verdict().session_id, "s")


class JudgeTest(unittest.TestCase):
    def test_rules(self):
        limited = Verdict(failed=True, limited=True, message="You've hit your limit")
        failed = Verdict(failed=True, message="boom", has_result=True)
        empty, done = Verdict(), Verdict(has_result=True)
        for exit_code in (0, 1, None):
            self.assertEqual(judge(limited, exit_code, "claude-json"),
                             ("limited", "limit", "You've hit your limit"))
            self.assertEqual(judge(failed, exit_code, "codex-jsonl"), ("failed", "agent_error", "boom"))
        self.assertEqual(judge(Verdict(limited=True), 0, "text")[:2], ("limited", "limit"))
        self.assertEqual(judge(Verdict(failed=True), 0, "gemini-json")[:2], ("failed", "agent_error"))
        self.assertEqual(judge(empty, 0, "gemini-json")[:2], ("failed", "no_result"))
        self.assertIsNone(judge(empty, 1, "gemini-json"))  # the exit code already says failed
        self.assertIsNone(judge(empty, 0, "text"))
        self.assertIsNone(judge(done, 0, "opencode-jsonl"))

    def test_fixtures_judged(self):
        for name in EXPECTED:
            fmt, case = fmt_of(name), name.split("/")[1]
            got = judge(parse(fmt, fixture(name), NOW), 0, fmt)
            want = {"success": None, "error": "agent_error", "no_result": "no_result",
                    "limit": "limit", "limit_event_only": "limit", "limit_no_hint": "limit",
                    "recovered": None, "clean": None, "real_success": None,
                    "real_api_error": "agent_error", "real_limit": "limit"}[case]
            self.assertEqual(got and got[1], want, name)


class LastWordsTest(unittest.TestCase):
    HEAD = "=== orchestra: t attempt 2, 2026-12-01T10:00:00Z: gemini ===\n"

    def test_the_last_meaningful_line_of_the_last_attempt(self):
        trust = ("Gemini CLI is not running in a trusted directory. To proceed, either use "
                 "`--skip-trust` or trust this directory.")
        log = ("=== orchestra: t attempt 1, 2026-12-01T09:00:00Z: gemini ===\nold failure\n"
               + self.HEAD + "--- in worktree .orchestra/worktrees/t on branch orchestra/t ---\n"
               "Loaded cached credentials.\n" + trust + "\n\n"
               '{"session_id": "s", "stats": {}}\n{\n  "response": "x"\n}\n'
               "\x1b[32m[=====     ] 50%\x1b[0m\r[==========] 100%\n"
               "--- orchestra: 10 bytes of output dropped here ---\n  \n")
        self.assertEqual(last_words(log), trust)

    def test_copilot_s_closing_summary_is_not_why_it_failed(self):
        # GitHub Copilot CLI 1.0.102 on an HTTP 400, exit 1.
        log = (self.HEAD + "\n400 messages.0.content.0: the stand-in refuses this request\n\n\n"
               "Changes    +0 -0\nDuration   0s\nTokens     ↑ 100 • ↓ 7\n"
               "Resume     copilot --resume=d95e6c95-d986-419e-a42a-3aa8fdb8c993\n\n")
        self.assertEqual(last_words(log),
                         "400 messages.0.content.0: the stand-in refuses this request")

    def test_only_this_attempt_counts(self):
        log = "=== orchestra: t attempt 1, x ===\nold failure\n" + self.HEAD + "⠋ ... 42%\n"
        self.assertIsNone(last_words(log))
        self.assertIsNone(last_words(""))
        self.assertEqual(last_words("no header at all\n"), "no header at all")

    def test_gemini_s_error_passing_on_the_api_s_body_gives_its_message(self):
        body = '{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}'
        out = json.dumps({"session_id": "s", "error": {"type": "Error", "message": body,
                                                       "code": 400}}, indent=2)
        self.assertEqual(parse("gemini-json", out, NOW).message, "API key not valid.")

    def test_json_error_records_give_their_message(self):
        for line in ('{"type":"error","message":"quota gone"}',
                     '{"error":{"code":400,"message":"quota gone"}}',
                     '{"type":"error","error":{"name":"APIError","data":{"message":"quota gone"}}}'):
            self.assertEqual(last_words(self.HEAD + "before\n" + line + "\n"),
                             "quota gone", line)
        self.assertEqual(last_words(self.HEAD + 'before\n{"type":"text"}\n'), "before")

    def test_made_safe_and_short(self):
        said = last_words(self.HEAD + "bad \x1b]52;c;aGk=\x07news\x07 \x1b[1mhere\x1b[0m\x9b\n")
        self.assertEqual(said, "bad news? here?")
        long = last_words(self.HEAD + "word " * 200 + "\n")
        self.assertEqual(len(long), lastwords.WORDS_MAX)
        self.assertTrue(long.endswith("…"))


class LimitsTest(unittest.TestCase):
    def test_what_is_a_limit(self):
        for text in ("Claude AI usage limit reached|1767279600", "You’ve hit your session limit",
                     "API Error: Rate limit reached", "kind: UsageLimitExceeded",
                     "429 RESOURCE_EXHAUSTED", "litellm.RateLimitError: x", "HTTP 429",
                     "Attempt 2 failed with status 429", "429 Too Many Requests"):
            self.assertTrue(limits.is_limit(text), text)
        for text in ("I added a rate limit of 10/s", "rate limiting is configurable",
                     "processed 429 files", "exit status 1"):
            self.assertFalse(limits.is_limit(text), text)
        self.assertTrue(limits.is_limit("provider rate limit", loose=True))
        self.assertTrue(limits.is_limit("error 429", loose=True))

    def test_what_no_word_of_a_limit_mentions_is_none(self):
        # The parser skips the patterns for lines that `mentioned` rules out.
        for text in ("Claude AI usage limit reached|1767279600", "You’ve hit your session limit",
                     "kind: UsageLimitExceeded", "429 RESOURCE_EXHAUSTED", "x RateLimitError",
                     "rate_limit_error", "Too many requests", "usage_limit_reached"):
            self.assertTrue(limits.is_limit(text, loose=True), text)
            self.assertTrue(limits.mentioned(text), text)
        self.assertFalse(limits.mentioned("exit status 1"))

    def test_reset_times(self):
        cases = {
            "Claude AI usage limit reached|1767279600": 1767279600.0,
            "Claude AI usage limit reached|1767279600000": 1767279600.0,
            "Please retry in 25.5s.": NOW + 25.5,
            "retry in 1m30s": NOW + 90,
            "retry after 500ms": NOW + 0.5,
            "try again in 23 hours 57 minutes.": NOW + 23 * HOUR + 57 * 60,
            '"retryDelay": "15s"': NOW + 15,
            "You've hit your limit · resets 4pm (UTC)": NOW + 6 * HOUR + MINUTE,
            "resets at 9:15 am (UTC)": NOW + 23 * HOUR + 16 * 60,  # 9:15 has passed today
            "resets Jan 2, 9am (UTC)": NOW + 23 * HOUR + MINUTE,
            "API Error: Rate limit reached": None,
            "Try again later.": None,
            "resets at 2026-01-01": None,
        }
        for text, want in cases.items():
            self.assertEqual(limits.reset_at(text, NOW), want, text)

    def test_a_date_already_past_is_next_year(self):
        dec31 = 1767182400.0  # 2025-12-31T12:00:00Z
        self.assertEqual(limits.reset_at("resets Jan 1, 9am (UTC)", dec31), 1767258000.0 + MINUTE)

    @unittest.skipUnless(zone_known("America/Recife") and zone_known("Asia/Kolkata"), "no zone data")
    def test_named_zones(self):
        self.assertEqual(limits.reset_at("You've hit your limit · resets 4pm (Europe/Paris)", NOW),
                         NOW + 5 * HOUR + MINUTE)
        self.assertEqual(limits.reset_at("resets Jan 1 at 4pm (America/Recife)", NOW),
                         datetime(2026, 1, 1, 19, 1, tzinfo=timezone.utc).timestamp())
        self.assertEqual(limits.reset_at("resets Jan 2, 11:30am (Asia/Kolkata)", NOW),
                         NOW + 20 * HOUR + MINUTE)

    def test_zone_fallback_is_utc(self):
        self.assertEqual(limits.reset_at("resets 4pm (Mars/Olympus_Mons)", NOW),
                         NOW + 6 * HOUR + MINUTE)
        with mock.patch.dict(sys.modules, {"zoneinfo": None}):  # import zoneinfo fails
            self.assertEqual(limits.reset_at("resets 4pm (Europe/Paris)", NOW),
                             NOW + 6 * HOUR + MINUTE)

    def test_codex_clock_is_local_time(self):
        at = limits.reset_at("You've hit your usage limit. Try again at 3:28 PM.", NOW)
        self.assertTrue(NOW < at <= NOW + 86400)
        self.assertEqual(datetime.fromtimestamp(at).strftime("%H:%M:%S"), "15:29:00")

    def test_a_clock_time_is_the_end_of_its_minute(self):
        said = "You've hit your usage limit. Try again at 7:45 PM."
        at_745_20 = local(19, 45, 20)
        self.assertEqual(limits.reset_at(said, at_745_20), local(19, 46))
        self.assertEqual(limits.reset_at(said, local(19, 40)), local(19, 46))

    def test_a_clock_time_just_past_is_today_s(self):
        said = "You've hit your usage limit. Try again at 7:45 PM."
        # Said (or read) a little after the reset: it has lifted, not moved to tomorrow.
        self.assertEqual(limits.reset_at(said, local(19, 48)), local(19, 46))
        self.assertEqual(limits.reset_at(said, local(19, 50, 59)), local(19, 46))
        # Long past: tomorrow's.
        tomorrow = limits.reset_at(said, local(20, 30))
        self.assertEqual(datetime.fromtimestamp(tomorrow).strftime("%H:%M"), "19:46")
        self.assertTrue(local(20, 30) + 23 * HOUR < tomorrow <= local(20, 30) + 24 * HOUR)

    def test_an_implausible_reset_is_unparsed(self):
        for text in ("try again in 3 days 6 hours 57 minutes.", "retry after 90000s",
                     "resets Jan 30, 11:30am (UTC)", "try again at Jan 3rd, 2026 7:45 AM.",
                     "Claude AI usage limit reached|1767400000", "resets Jan 1, 2027 9am (UTC)"):
            self.assertIsNone(limits.reset_at(text, NOW), text)
        # Codex's form for a reset on another day, still within a day.
        self.assertEqual(limits.reset_at("try again at Jan 2nd, 2026 7:45 AM (UTC).", NOW),
                         NOW + 21 * HOUR + 46 * 60)


def local(h, mi, s=0):
    """Epoch seconds of a local wall-clock time on 2026-01-01 (Codex prints local time)."""
    return datetime(2026, 1, 1, h, mi, s).timestamp()


if __name__ == "__main__":
    unittest.main()
