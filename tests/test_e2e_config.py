"""`orchestra config` end to end: list, get, set, unset and the errors."""

import json
import os

from tests.helpers import ProjectCase


class ConfigTest(ProjectCase):
    def config_path(self):
        return os.path.join(self.root, ".orchestra", "config.json")

    def write_settings(self, text):
        os.makedirs(os.path.dirname(self.config_path()), exist_ok=True)
        with open(self.config_path(), "w") as f:
            f.write(text)

    def fails(self, *args, code=2):
        """Run, require exit `code` and a one-line error; returns stderr."""
        r = self.run_cli(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith("orchestra: "), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        return r.stderr

    def test_list_shows_every_key_with_defaults(self):
        lines = self.ok("config", "list").splitlines()
        self.assertEqual([line.split()[0] for line in lines],
                         ["parallel", "timeout", "retry_backoff_base", "retry_backoff_cap",
                          "retention_completed", "retention_failed", "log_max", "isolation",
                          "merge", "worktree_copy", "worktree_setup", "limit_grace", "register"])
        self.assertTrue(all("(default)" in line for line in lines))
        self.assertEqual(lines[1].split()[:2], ["timeout", "none"])
        self.assertEqual(lines[4].split()[:2], ["retention_completed", "7d"])
        self.assertIn("failed and cancelled", lines[5])
        self.assertEqual(lines[6].split()[:2], ["log_max", "100M"])
        self.assertEqual(lines[12].split()[:2], ["register", "true"])
        self.assertFalse(os.path.exists(self.config_path()))  # reading writes nothing

    def test_set_get_unset(self):
        self.assertEqual(self.ok("config", "set", "timeout", "30m"), "timeout = 30m\n")
        self.ok("config", "set", "parallel", "3")
        self.ok("config", "set", "retention_failed", "0")
        self.assertEqual(self.ok("config", "get", "timeout"), "1800\n")
        self.assertEqual(self.ok("config", "get", "retention_failed"), "0\n")
        self.assertEqual(self.ok("config", "get", "retry_backoff_cap"), "300\n")
        with open(self.config_path()) as f:
            self.assertEqual(json.load(f), {"timeout": 1800, "parallel": 3, "retention_failed": 0})
        listed = {line.split()[0]: line for line in self.ok("config", "list").splitlines()}
        self.assertNotIn("(default)", listed["parallel"])
        self.assertIn("(default)", listed["retry_backoff_cap"])
        self.assertIn("0 (never)", listed["retention_failed"])
        self.assertEqual(self.ok("config", "unset", "parallel"), "parallel = 1 (default)\n")
        self.assertEqual(self.ok("config", "get", "parallel"), "1\n")
        self.assertIn("was not set", self.ok("config", "unset", "parallel"))

    def test_json_prints_the_values_in_force(self):
        self.write_settings('{"timeout": null, "retry_backoff_base": 1.5, "notify": {}}')
        self.assertEqual(json.loads(self.ok("config", "list", "--json")),
                         {"parallel": 1, "timeout": None, "retry_backoff_base": 1.5,
                          "retry_backoff_cap": 300, "retention_completed": 604800,
                          "retention_failed": 1209600, "log_max": 100 << 20,
                          "isolation": "auto", "merge": "manual", "worktree_copy": [],
                          "worktree_setup": None, "limit_grace": 60, "register": True})

    def test_unknown_keys_are_listed_and_kept(self):
        self.write_settings('{"notify": {"on_fail": "mail"}}')
        self.assertIn("(unknown)", self.ok("config", "list").splitlines()[-1])
        self.ok("config", "set", "parallel", "2")
        with open(self.config_path()) as f:
            self.assertEqual(json.load(f), {"notify": {"on_fail": "mail"}, "parallel": 2})

    def test_bad_key_and_bad_value_are_exit_2_and_change_nothing(self):
        for args in (("get", "paralel"), ("set", "paralel", "2"), ("unset", "paralel")):
            self.assertIn("retention_completed", self.fails("config", *args))
        self.assertIn("whole number >= 1", self.fails("config", "set", "parallel", "0"))
        self.assertIn("duration > 0", self.fails("config", "set", "timeout", "-5"))
        self.assertFalse(os.path.exists(self.config_path()))

    def test_corrupt_file_is_one_line_naming_it(self):
        self.write_settings('{"parallel": 2,')
        for args in (("list",), ("get", "parallel"), ("set", "timeout", "1h")):
            message = self.fails("config", *args)
            self.assertIn(os.path.join(".orchestra", "config.json"), message)
            self.assertNotIn("Traceback", message)
        self.write_settings('{"parallel": "2"}')
        message = self.fails("config", "list")
        self.assertIn("'parallel'", message)
        self.assertIn("whole number", message)
        self.ok("config", "set", "parallel", "2")  # the way out the message suggests
        self.assertEqual(self.ok("config", "get", "parallel"), "2\n")
