"""Short ids (orchestra.ids, commands.full_id, idindex) and where a project is: root
discovery, the no-project error, a task's working directory. In-process."""

import json
import os
import shutil
import sys
import tempfile
import unittest

from orchestra import ids, idindex
from orchestra.commands import full_id, short_ids
from orchestra.errors import NotFound, OrchestraError
from orchestra.paths import Layout, find_root
from tests.helpers import FAKE_AGENT, main_in_process

A = "task_1796153935275_387e11"
B = "task_1796153935276_387f00"
C = "task_1796153935277_a1b2c3"
TWIN = "task_1796153935278_a1b2c3"  # C's hex part, another millisecond


class AbbreviationsTest(unittest.TestCase):
    def test_four_characters_unless_another_id_shares_them(self):
        self.assertEqual(ids.abbreviations([A, C]), {A: "387e", C: "a1b2"})
        self.assertEqual(ids.abbreviations([A, B]), {A: "387e", B: "387f"})
        self.assertEqual(ids.abbreviations([A], among=[B, "task_1796153935279_387e19"]),
                         {A: "387e11"})

    def test_an_id_whose_whole_hex_part_is_shared_is_shown_whole(self):
        self.assertEqual(ids.abbreviations([C, TWIN, A]), {C: C, TWIN: TWIN, A: "387e"})

    def test_every_abbreviation_names_its_task_back(self):
        import random
        draw = random.Random(11).randrange  # from a narrow range: prefixes shared, twins too
        known = [f"task_17961539{n:05d}_{draw(0x387000, 0x388000):06x}" for n in range(300)]
        self.assertLess(len({i[19:] for i in known}), len(known))
        for task_id, short in ids.abbreviations(known).items():
            self.assertEqual(ids.matches(short, set(known)), [task_id])


class MatchesTest(unittest.TestCase):
    known = {A, B, C, TWIN}

    def test_whole_id_prefix_of_it_or_of_its_hex_part(self):
        self.assertEqual(ids.matches(A, self.known), [A])
        self.assertEqual(ids.matches("task_1796153935275", self.known), [A])
        self.assertEqual(ids.matches("387e", self.known), [A])
        self.assertEqual(ids.matches("387", self.known), [])  # fewer than four: no match
        self.assertEqual(ids.matches("a1b2c3", self.known), [C, TWIN])
        self.assertEqual(ids.matches("task_17961539352", self.known), sorted(self.known))

    def test_plausible(self):
        for text in (A, "task_", "task_17", "387e", "a1b2c3", "abc"):
            self.assertTrue(ids.plausible(text), text)
        for text in ("../x", "foo", "task_x1", "ABCD", "387e11f", "", "task_1796153935275_387e11f"):
            self.assertFalse(ids.plausible(text), text)

    def test_ambiguous_lists_a_handful(self):
        many = [f"task_{n:013d}_abcdef" for n in range(8)]
        text = ids.ambiguous("abcd", many)
        self.assertIn(many[4], text)
        self.assertNotIn(many[5], text)
        self.assertIn("…and 3 more", text)


def _touch(directory, task_id):
    os.makedirs(directory, exist_ok=True)
    open(os.path.join(directory, task_id + ".json"), "w").close()


class FullIdTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.layout = Layout(self.root)
        _touch(self.layout.tasks, A)
        _touch(self.layout.tasks, C)
        _touch(self.layout.archived().tasks, B)

    def test_live_and_archived_tasks_are_found(self):
        self.assertEqual(full_id(self.layout, "387e"), A)
        self.assertEqual(full_id(self.layout, "387f"), B)  # archived
        self.assertEqual(full_id(self.layout, "task_1796153935277"), C)
        self.assertEqual(full_id(self.layout, A), A)

    def test_ambiguous_unknown_short_and_malformed_are_exit_2(self):
        with self.assertRaises(OrchestraError) as e:
            full_id(self.layout, "387")
        self.assertIn("too short", e.exception.message)
        with self.assertRaises(OrchestraError) as e:
            full_id(self.layout, "task_179615393527")  # A, C (live) and B (archived)
        self.assertEqual(e.exception.code, 2)
        self.assertIn(f"names {A}, {B}, {C};", e.exception.message)
        with self.assertRaises(NotFound):
            full_id(self.layout, "ffff")
        with self.assertRaises(OrchestraError) as e:
            full_id(self.layout, "../x")
        self.assertIn("invalid task id", e.exception.message)

    def test_table_abbreviations_count_archived_ids(self):
        from orchestra.store import Store
        snap = Store(self.layout).scan()  # the empty files do not parse: no live tasks
        shown = short_ids(self.layout, snap, [type("T", (), {"id": A})()])
        self.assertEqual(shown, {A: "387e"})
        self.assertTrue(os.path.exists(os.path.join(self.layout.archive, "ids")))
        idindex.note(self.layout, ["task_1796153935279_387e19"])
        self.assertEqual(short_ids(self.layout, snap, [type("T", (), {"id": A})()]),
                         {A: "387e11"})


class ProjectCase(unittest.TestCase):
    """A project with the fake agent, driven through cli.main in this process."""

    def setUp(self):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="orchestra-test-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        self.config({"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"]})
        cwd = os.getcwd()
        self.addCleanup(os.chdir, cwd)

    def config(self, spec):
        os.makedirs(os.path.join(self.root, ".orchestra-cli"), exist_ok=True)
        with open(os.path.join(self.root, ".orchestra-cli", "agent-config.json"), "w") as f:
            json.dump({"agents": {"fake": spec}}, f)

    def cli(self, *argv, code=0):
        got, out, err = main_in_process(self.root, *argv)
        self.assertEqual(got, code, out + err)
        return out, err

    def task(self, task_id):
        with open(Layout(self.root).task_file(task_id)) as f:
            return json.load(f)


class ShortIdsInCommandsTest(ProjectCase):
    def test_status_shows_what_show_depends_on_and_batch_take_back(self):
        a = self.cli("start", "-q", "--no-worktree", "fake", "echo=a")[0].strip()
        short = ids.abbreviations([a])[a]
        table = self.cli("status")[0]
        self.assertTrue(table.splitlines()[1].startswith(short + " "), table)
        self.assertNotIn(a, table)
        self.assertIn(f"  id           {a}", self.cli("show", short)[0])
        # README's form: the ids end with --, with nothing after them
        b = self.cli("start", "-q", "--no-worktree", "fake", "echo=b", "--depends-on", short,
                     "--")[0].strip()
        self.assertEqual(self.task(b)["depends_on"], [a])
        batch = os.path.join(self.root, "batch.jsonl")
        with open(batch, "w") as f:
            f.write(json.dumps({"prompt": "echo=c", "depends_on": [a[:18]]}) + "\n")
        c = self.cli("start", "-q", "--no-worktree", "fake", "--batch", batch)[0].strip()
        self.assertEqual(self.task(c)["depends_on"], [a])
        self.assertEqual(json.loads(self.cli("status", "--json", short)[0])[0]["id"], a)
        _, err = self.cli("start", "fake", "--depends-on", short, "--", code=2)
        self.assertIn("give a PROMPT", err)

    def test_started_from_a_subdirectory_it_runs_there_unless_the_agent_says(self):
        deep = os.path.join(self.root, "src", "deep")
        os.makedirs(deep)
        os.chdir(deep)
        t = self.cli("start", "-q", "--no-worktree", "fake", "echo=x")[0].strip()
        self.assertEqual(self.task(t)["cwd"], "src/deep")
        self.assertIn("runs in      src/deep/", self.cli("show", t)[0])
        os.chdir(self.root)
        t = self.cli("start", "-q", "--no-worktree", "fake", "echo=x")[0].strip()
        self.assertIsNone(self.task(t)["cwd"])
        self.assertIn("runs in      the project root", self.cli("show", t)[0])
        self.config({"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"], "cwd": "src"})
        os.chdir(deep)
        t = self.cli("start", "-q", "--no-worktree", "fake", "echo=x")[0].strip()
        self.assertEqual(self.task(t)["cwd"], "src")

    def test_state_is_excluded_from_git_after_a_start_from_a_subdirectory(self):
        os.makedirs(os.path.join(self.root, ".git", "info"))
        os.makedirs(os.path.join(self.root, "src"))
        os.chdir(os.path.join(self.root, "src"))
        self.cli("start", "-q", "--no-worktree", "fake", "echo=x")
        with open(os.path.join(self.root, ".git", "info", "exclude")) as f:
            self.assertIn("/.orchestra/", f.read().splitlines())


class RootTest(unittest.TestCase):
    def setUp(self):
        self.top = os.path.realpath(tempfile.mkdtemp(prefix="orchestra-test-"))
        self.addCleanup(shutil.rmtree, self.top, True)

    def test_git_top_level_when_no_project_is_marked(self):
        deep = os.path.join(self.top, "src", "deep")
        os.makedirs(deep)
        self.assertEqual(find_root(cwd=deep, environ={}), deep)
        os.makedirs(os.path.join(self.top, ".git"))
        self.assertEqual(find_root(cwd=deep, environ={}), self.top)
        sub = os.path.join(self.top, "src")
        with open(os.path.join(sub, ".git"), "w") as f:  # a submodule or a linked worktree
            f.write("gitdir: ../.git/modules/src\n")
        self.assertEqual(find_root(cwd=deep, environ={}), sub)
        os.makedirs(os.path.join(self.top, ".orchestra"))  # a project comes first
        self.assertEqual(find_root(cwd=deep, environ={}), self.top)

    def test_inside_a_tasks_worktree_the_project_holding_it(self):
        tree = os.path.join(self.top, ".orchestra", "worktrees", A)
        os.makedirs(os.path.join(tree, ".orchestra-cli"))  # tracked, so checked out there too
        os.makedirs(os.path.join(tree, "src"))
        with open(os.path.join(tree, ".git"), "w") as f:
            f.write(f"gitdir: {self.top}/.git/worktrees/{A}\n")
        self.assertEqual(find_root(cwd=os.path.join(tree, "src"), environ={}), self.top)

    def test_reading_commands_outside_a_project_say_so(self):
        for argv in (("status",), ("status", "--json"), ("show", "387e"), ("events",)):
            code, out, err = main_in_process(self.top, *argv)
            self.assertEqual((code, out), (2, ""), argv)
            self.assertIn(f"no orchestra project in {self.top}; `orchestra start`", err)
        self.assertEqual(os.listdir(self.top), [])
        self.assertEqual(main_in_process(self.top, "init")[0], 0)
        self.assertEqual(main_in_process(self.top, "status")[0], 0)


if __name__ == "__main__":
    unittest.main()
