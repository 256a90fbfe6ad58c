import unittest

from orchestra.batch import BatchError, parse, prompt_problem

A = "task_1790000000000_abcdef"
B = "task_1790000000001_012345"


class ParseTest(unittest.TestCase):
    def problems(self, text):
        with self.assertRaises(BatchError) as cm:
            parse(text)
        return cm.exception.problems

    def assertProblem(self, text, line, *words):
        problems = self.problems(text)
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith(f"batch line {line}: "), problems[0])
        for word in words:
            self.assertIn(word, problems[0])

    def test_plain_lines_in_order_with_defaults(self):
        entries = parse("fix the login bug\n  add tests for utils.py  \nwrite docs\n")
        self.assertEqual([e.prompt for e in entries],
                         ["fix the login bug", "add tests for utils.py", "write docs"])
        self.assertEqual([e.line for e in entries], [1, 2, 3])
        for e in entries:
            self.assertEqual((e.priority, e.timeout, e.max_retries, e.depends_on),
                             (None, None, None, []))

    def test_blank_lines_and_comments_are_skipped_but_counted(self):
        entries = parse("# a comment\n\n   \none\n  # indented comment\r\ntwo\r\n")
        self.assertEqual([(e.line, e.prompt) for e in entries], [(4, "one"), (6, "two")])

    def test_bytes_and_a_byte_order_mark(self):
        entries = parse("\ufeffcafé\n".encode("utf-8"))
        self.assertEqual(entries[0].prompt, "café")

    def test_json_line_with_every_field(self):
        [e] = parse('{"prompt": "do it", "priority": -2, "timeout": "30m", "max_retries": 3, '
                    f'"depends_on": ["{A}", "{B}", "{A}"]}}')
        self.assertEqual((e.prompt, e.priority, e.timeout, e.max_retries), ("do it", -2, 1800.0, 3))
        self.assertEqual(e.depends_on, [A, B])  # duplicates dropped, order kept

    def test_json_fields_are_optional_and_null_means_default(self):
        [e] = parse('{"prompt": "x", "priority": null, "timeout": 90}')
        self.assertEqual((e.priority, e.timeout, e.max_retries, e.depends_on), (None, 90.0, None, []))

    def test_json_prompt_keeps_what_a_plain_line_cannot_say(self):
        [a, b] = parse('{"prompt": "# not a comment"}\n{"prompt": "{\\"json\\": 1}\\nline two"}')
        self.assertEqual(a.prompt, "# not a comment")
        self.assertEqual(b.prompt, '{"json": 1}\nline two')

    def test_single_dependency_may_be_a_string(self):
        [e] = parse(f'{{"prompt": "x", "depends_on": "{A}"}}')
        self.assertEqual(e.depends_on, [A])

    def test_line_references_become_entry_indexes(self):
        text = ("# header\n"                                             # 1
                "first\n"                                                # 2
                "\n"                                                     # 3
                "second\n"                                               # 4
                '{"prompt": "third", "depends_on": ["@2", "@4"]}\n'      # 5
                f'{{"prompt": "fourth", "depends_on": ["@5", "{A}"]}}\n')  # 6
        entries = parse(text)
        self.assertEqual([e.prompt for e in entries], ["first", "second", "third", "fourth"])
        self.assertEqual(entries[2].depends_on, [0, 1])
        self.assertEqual(entries[3].depends_on, [2, A])

    def test_forward_and_self_references_are_refused(self):
        self.assertProblem('{"prompt": "x", "depends_on": "@2"}\nlater', 1, "@2", "earlier")
        self.assertProblem('a\n{"prompt": "x", "depends_on": "@2"}', 2, "@2", "earlier")

    def test_reference_to_a_comment_or_blank_line_is_refused(self):
        self.assertProblem('# c\n\n{"prompt": "x", "depends_on": ["@1"]}', 3, "line 1", "not a task")
        self.assertProblem('a\n\n{"prompt": "x", "depends_on": "@2"}', 3, "line 2", "not a task")
        self.assertProblem('a\n{"prompt": "x", "depends_on": "@0"}', 2, "line 0")

    def test_malformed_dependencies(self):
        for dep in ('"task_x1"', '"../../etc/passwd"', '"@x"', '"@-1"', "7", '{"id": 1}', "true",
                    '["@1", 5]'):
            with self.subTest(dep=dep):
                self.assertProblem('a\n{"prompt": "x", "depends_on": %s}' % dep, 2, "depends_on")

    def test_bad_json(self):
        self.assertProblem('ok\n{"prompt": "x",}', 2, "not valid JSON", "column")
        self.assertProblem('{prompt: "x"}', 1, "not valid JSON")
        self.assertProblem('{"prompt": "x"} trailing', 1, "not valid JSON")

    def test_bad_fields(self):
        cases = [('{"priority": 1}', "prompt"), ('{"prompt": 5}', "prompt"),
                 ('{"prompt": ""}', "empty"), ('{"prompt": "  "}', "empty"),
                 ('{"prompt": "a\\u0000b"}', "NUL"), ('{"prompt": "\\ud800"}', "UTF-8"),
                 ('{"prompt": "x", "priority": "high"}', "priority"),
                 ('{"prompt": "x", "priority": 1.5}', "priority"),
                 ('{"prompt": "x", "priority": true}', "priority"),
                 ('{"prompt": "x", "max_retries": -1}', "max_retries"),
                 ('{"prompt": "x", "max_retries": "2"}', "max_retries"),
                 ('{"prompt": "x", "timeout": 0}', "timeout"),
                 ('{"prompt": "x", "timeout": -5}', "timeout"),
                 ('{"prompt": "x", "timeout": "soon"}', "timeout"),
                 ('{"prompt": "x", "timeout": [1]}', "timeout"),
                 ('{"prompt": "x", "agent": "claude"}', "unknown key 'agent'")]
        for line, word in cases:
            with self.subTest(line=line):
                self.assertProblem(line, 1, word)

    def test_plain_line_with_nul_or_bad_utf8(self):
        self.assertProblem(b"ok\nbad\x00line\n", 2, "NUL")
        self.assertProblem(b"ok\nbad \xe9 text\n", 2, "UTF-8")
        self.assertProblem(b'{"prompt": "caf\xe9"}', 1, "UTF-8")
        self.assertEqual([e.prompt for e in parse(b"# caf\xe9 in a comment\nok\n")], ["ok"])

    def test_every_problem_is_reported_with_its_line(self):
        text = 'ok\n{"prompt": ""}\n{bad\nfine\n{"prompt": "x", "depends_on": "@9"}\n'
        problems = self.problems(text)
        self.assertEqual([p.split(":")[0] for p in problems],
                         ["batch line 2", "batch line 3", "batch line 5"])

    def test_reference_to_a_broken_line_adds_no_second_problem(self):
        problems = self.problems('{bad\n{"prompt": "x", "depends_on": "@1"}')
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("batch line 1", problems[0])

    def test_empty_batch_is_refused(self):
        for text in ("", "\n\n", "# only a comment\n   \n", b""):
            with self.subTest(text=text):
                problems = self.problems(text)
                self.assertEqual(len(problems), 1)
                self.assertIn("no tasks", problems[0])


class PromptProblemTest(unittest.TestCase):
    def test_problems(self):
        self.assertIsNone(prompt_problem("fine {braces} $HOME"))
        self.assertEqual(prompt_problem(" \n"), "is empty")
        self.assertIn("NUL", prompt_problem("a\0b"))
        self.assertIn("UTF-8", prompt_problem("\udce9"))


if __name__ == "__main__":
    unittest.main()
