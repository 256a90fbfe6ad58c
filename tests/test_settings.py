import json
import os
import shutil
import tempfile
import unittest

from orchestra import settings
from orchestra.errors import USAGE, OrchestraError
from orchestra.paths import Layout

PATH = "/p/.orchestra/config.json"


class ParseTest(unittest.TestCase):
    """The pure part: the decoded file -> Settings."""

    def test_defaults(self):
        s = settings.parse({}, PATH)
        self.assertEqual((s.parallel, s.timeout, s.retry_backoff_base, s.retry_backoff_cap,
                          s.retention_completed, s.retention_failed),
                         (1, None, 2, 300, 604800, 1209600))
        self.assertFalse(any(s.is_set(name) for name in settings.KEYS))
        self.assertEqual(s.unknown, {})
        self.assertEqual(settings.Settings().effective(), s.effective())

    def test_explicit_values(self):
        s = settings.parse({"parallel": 4, "timeout": 1800.0, "retry_backoff_base": 1.5,
                            "retention_failed": 0}, PATH)
        self.assertEqual((s.parallel, s.timeout, s.retry_backoff_base, s.retention_failed),
                         (4, 1800, 1.5, 0))
        self.assertIs(type(s.timeout), int)  # a whole number of seconds prints as one
        self.assertTrue(s.is_set("parallel"))
        self.assertTrue(s.is_set("retention_failed"))
        self.assertFalse(s.is_set("retry_backoff_cap"))
        self.assertEqual(s.explicit, {"parallel": 4, "timeout": 1800, "retry_backoff_base": 1.5,
                                      "retention_failed": 0})

    def test_explicit_default_value_counts_as_set(self):
        s = settings.parse({"parallel": 1, "timeout": None}, PATH)
        self.assertTrue(s.is_set("parallel") and s.is_set("timeout"))

    def test_unknown_keys_are_kept_aside(self):
        s = settings.parse({"notify": {"on_fail": "x"}, "paralel": 3}, PATH)
        self.assertEqual(s.unknown, {"notify": {"on_fail": "x"}, "paralel": 3})
        self.assertEqual(s.parallel, 1)
        self.assertNotIn("notify", s.effective())

    def test_wrong_values_name_file_key_and_expectation(self):
        bad = [("parallel", 0), ("parallel", 2.0), ("parallel", "2"), ("parallel", True),
               ("parallel", None), ("timeout", 0), ("timeout", -1), ("timeout", "30m"),
               ("timeout", float("nan")), ("retry_backoff_base", 0.5),
               ("retry_backoff_base", float("inf")), ("retry_backoff_cap", 0),
               ("retry_backoff_cap", None), ("retention_completed", -1),
               ("retention_failed", "7d"), ("retention_failed", [1]), ("log_max", 1000),
               ("log_max", 1.5e6), ("log_max", "100M")]
        for key, value in bad:
            with self.subTest(key=key, value=value):
                with self.assertRaises(OrchestraError) as cm:
                    settings.parse({key: value}, PATH)
                message = cm.exception.message
                self.assertEqual(cm.exception.code, USAGE)
                self.assertIn(PATH, message)
                self.assertIn(repr(key), message)
                self.assertIn(settings.KEYS[key].expected, message)
                self.assertNotIn("\n", message)


class ParseTextTest(unittest.TestCase):
    """What `config set` accepts for each key."""

    def parse(self, key, text):
        return settings.KEYS[key].parse(text)

    def test_accepted(self):
        good = [("parallel", "3", 3), ("parallel", " 12 ", 12),
                ("timeout", "30m", 1800), ("timeout", "90", 90), ("timeout", "1.5s", 1.5),
                ("timeout", "none", None), ("timeout", "NULL", None),
                ("retry_backoff_base", "1", 1), ("retry_backoff_base", "1.5", 1.5),
                ("retry_backoff_cap", "5m", 300),
                ("retention_completed", "7d", 604800), ("retention_completed", "36h", 129600),
                ("retention_failed", "0", 0), ("retention_failed", "2w", 1209600),
                ("log_max", "100M", 100 << 20), ("log_max", "1g", 1 << 30),
                ("log_max", "512K", 512 << 10), ("log_max", "1.5MB", 3 << 19),
                ("log_max", "65536", 65536), ("log_max", "none", None)]
        for key, text, value in good:
            with self.subTest(key=key, text=text):
                self.assertEqual(self.parse(key, text), value)
                self.assertIs(type(self.parse(key, text)), type(value))

    def test_refused(self):
        bad = [("parallel", "0"), ("parallel", "2.5"), ("parallel", "two"), ("parallel", "none"),
               ("parallel", ""), ("timeout", "0"), ("timeout", "-5"), ("timeout", "soon"),
               ("retry_backoff_base", "0.9"), ("retry_backoff_base", "nan"),
               ("retry_backoff_base", "inf"), ("retry_backoff_base", "none"),
               ("retry_backoff_cap", "0"), ("retry_backoff_cap", "null"),
               ("retention_completed", "-1d"), ("retention_completed", "none"),
               ("retention_failed", "7 days"), ("parallel", "\uff13"), ("timeout", "\uff13m"),
               ("retry_backoff_base", "\u0661.5"), ("log_max", "1000"), ("log_max", "100 M"),
               ("log_max", "1T"), ("log_max", "-1M"), ("log_max", "\uff11G")]
        for key, text in bad:
            with self.subTest(key=key, text=text):
                with self.assertRaises(ValueError):
                    self.parse(key, text)

    def test_unknown_key_lists_the_known_ones(self):
        with self.assertRaises(OrchestraError) as cm:
            settings.check_key("paralel")
        self.assertEqual(cm.exception.code, USAGE)
        for name in settings.KEYS:
            self.assertIn(name, cm.exception.message)


class SizeTextTest(unittest.TestCase):
    def test_the_largest_unit_that_divides(self):
        self.assertEqual([settings.size_text(n) for n in (100 << 20, 1 << 30, 3 << 19, 1000)],
                         ["100M", "1G", "1536K", "1000"])


class FileTest(unittest.TestCase):
    """load, set_value and unset against a real .orchestra/config.json."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.layout = Layout(self.root)
        self.path = os.path.join(self.root, ".orchestra", "config.json")

    def write(self, data):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def read(self):
        with open(self.path) as f:
            return json.load(f)

    def test_layout_names_the_file(self):
        self.assertEqual(self.layout.settings, self.path)

    def test_missing_file_is_all_defaults(self):
        s = settings.load(self.layout)
        self.assertEqual(s.effective(), settings.Settings().effective())
        self.assertFalse(os.path.exists(os.path.join(self.root, ".orchestra")))

    def test_a_file_changed_in_place_is_read_again(self):
        self.write('{"parallel": 2}')
        self.assertEqual(settings.load(self.layout).parallel, 2)
        tick = os.stat(self.path).st_mtime_ns
        self.write('{"parallel": 3}')
        os.utime(self.path, ns=(tick, tick))  # the same inode, size and mtime: a racy change
        self.assertEqual(settings.load(self.layout).parallel, 3)
        os.utime(self.path, (1e9, 1e9))  # long unchanged: kept by its stamp
        kept = settings.load(self.layout)
        self.assertIs(settings.load(self.layout), kept)
        self.write('{"parallel": 4}')
        self.assertEqual(settings.load(self.layout).parallel, 4)
        os.unlink(self.path)
        self.assertEqual(settings.load(self.layout).parallel, 1)

    def test_set_writes_the_parsed_value(self):
        self.assertEqual(settings.set_value(self.layout, "timeout", "30m"), 1800)
        self.assertEqual(settings.set_value(self.layout, "parallel", "3"), 3)
        self.assertEqual(self.read(), {"timeout": 1800, "parallel": 3})
        s = settings.load(self.layout)
        self.assertEqual((s.timeout, s.parallel), (1800, 3))
        self.assertTrue(s.is_set("timeout"))
        settings.set_value(self.layout, "timeout", "none")
        self.assertEqual(self.read(), {"timeout": None, "parallel": 3})
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.path))),
                         [".git", "config.json", "lock", "logs", "plans", "tasks"])  # no temp file left

    def test_set_keeps_unknown_and_other_keys(self):
        self.write('{"notify": {"on_fail": ["notify"]}, "retention_failed": 0, "x": null}')
        settings.set_value(self.layout, "parallel", "2")
        self.assertEqual(self.read(), {"notify": {"on_fail": ["notify"]}, "retention_failed": 0,
                                       "x": None, "parallel": 2})
        s = settings.load(self.layout)
        self.assertEqual(s.unknown, {"notify": {"on_fail": ["notify"]}, "x": None})

    def test_set_can_repair_an_invalid_value(self):
        self.write('{"parallel": "many", "timeout": 60}')
        with self.assertRaises(OrchestraError):
            settings.load(self.layout)
        settings.set_value(self.layout, "parallel", "4")
        self.assertEqual(settings.load(self.layout).parallel, 4)

    def test_invalid_text_changes_nothing(self):
        self.write('{"parallel": 2}')
        for key, text in (("parallel", "0"), ("timeout", "abc"), ("nope", "1")):
            with self.subTest(key=key), self.assertRaises(OrchestraError) as cm:
                settings.set_value(self.layout, key, text)
            self.assertEqual(cm.exception.code, USAGE)
            self.assertNotIn("\n", cm.exception.message)
        self.assertEqual(self.read(), {"parallel": 2})

    def test_corrupt_file_is_an_error_and_never_overwritten(self):
        for text in (b"{bad", b"[1, 2]", b"\xff\xfe{}"):
            with self.subTest(text=text):
                self.write(text)
                with self.assertRaises(OrchestraError) as cm:
                    settings.load(self.layout)
                self.assertIn(self.path, cm.exception.message)
                self.assertEqual(cm.exception.code, USAGE)
                with self.assertRaises(OrchestraError):
                    settings.set_value(self.layout, "parallel", "2")
                with open(self.path, "rb") as f:
                    self.assertEqual(f.read(), text)

    def test_unset(self):
        self.write('{"parallel": 3, "notify": 1}')
        self.assertTrue(settings.unset(self.layout, "parallel"))
        self.assertEqual(self.read(), {"notify": 1})
        self.assertFalse(settings.unset(self.layout, "parallel"))
        self.assertFalse(settings.load(self.layout).is_set("parallel"))
        with self.assertRaises(OrchestraError):
            settings.unset(self.layout, "notify")  # not a known setting: edit the file

    def test_unset_without_a_file_writes_nothing(self):
        self.assertFalse(settings.unset(self.layout, "timeout"))
        self.assertFalse(os.path.exists(self.path))


if __name__ == "__main__":
    unittest.main()
