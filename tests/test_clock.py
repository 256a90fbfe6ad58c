import time
import unittest

from orchestra.clock import human, iso, parse_duration, parse_iso


class ClockTest(unittest.TestCase):
    def test_iso_round_trip(self):
        for ts in (0.0, 1_790_000_000.123, 951_782_400.5, time.time()):  # 2000-02-29 among them
            self.assertAlmostEqual(parse_iso(iso(ts)), ts, places=3)

    def test_iso_matches_time_module(self):
        ts = 1_790_000_000
        self.assertEqual(iso(ts)[:19], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)))
        self.assertEqual(parse_iso("2026-11-25T11:52:43+00:00"), parse_iso("2026-11-25T11:52:43Z"))

    def test_bad_iso(self):
        for bad in ("yesterday", "2026-11-25", "2026-11-25T11:52:43Zjunk"):
            with self.assertRaises(ValueError):
                parse_iso(bad)

    def test_durations(self):
        self.assertEqual([parse_duration(x) for x in ("90", "90s", "15m", "2h", "7d", "1w", "0.5")],
                         [90, 90, 900, 7200, 604800, 604800, 0.5])
        for bad in ("", "-5", "5y", "m", "1h30m", "nan", "inf", "1" + "0" * 400,
                    "\uff19", "\uff19m", "1\u0660s", "1.\u0665"):  # full-width, Arabic-Indic
            with self.assertRaises(ValueError):
                parse_duration(bad)

    def test_only_ascii_digits_are_whole_numbers(self):
        import argparse
        from orchestra.commands import args
        self.assertEqual([args.integer(x) for x in ("3", " 12 ", "+4", "-1")], [3, 12, 4, -1])
        for bad in ("\uff19", "1\u0660", "1_000", "3.0", ""):
            with self.assertRaises(argparse.ArgumentTypeError):
                args.integer(bad)
        with self.assertRaises(argparse.ArgumentTypeError):
            args.seconds("\uff19")

    def test_human(self):
        self.assertEqual([human(x) for x in (None, 0.25, 12, 245, 11520, 187200)],
                         ["-", "250ms", "12s", "4m05s", "3h12m", "2d04h"])


if __name__ == "__main__":
    unittest.main()
