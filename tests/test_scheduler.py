import unittest

from orchestra import scheduler
from orchestra.clock import iso
from orchestra.task import Task

NOW = 1_790_000_000.0


def task(n, priority=0, status="pending", not_before=None):
    t = Task.new(f"task_{1790000000000 + n}_abcdef", "a", "p", NOW + n, priority=priority)
    t.update(status=status, not_before=iso(not_before) if not_before else None)
    return t


class PickTest(unittest.TestCase):
    def ids(self, tasks):
        return [t.id[-16:-7] for t in tasks]

    def test_fifo_within_priority_and_higher_priority_first(self):
        tasks = [task(3), task(1), task(2, priority=1), task(4, priority=-1)]
        picked = scheduler.pick(tasks, 10, NOW + 100)
        self.assertEqual([t.priority for t in picked], [1, 0, 0, -1])
        self.assertEqual(picked[1].created(), NOW + 1)

    def test_respects_free_slots(self):
        tasks = [task(i) for i in range(5)]
        self.assertEqual(len(scheduler.pick(tasks, 2, NOW + 100)), 2)
        self.assertEqual(scheduler.pick(tasks, 0, NOW + 100), [])

    def test_only_pending_and_ready(self):
        tasks = [task(1, status="running"), task(2, status="completed"),
                 task(3, not_before=NOW + 50), task(4)]
        self.assertEqual([t.created() for t in scheduler.pick(tasks, 5, NOW + 10)], [NOW + 4])
        self.assertEqual(len(scheduler.pick(tasks, 5, NOW + 60)), 2)

    def test_busy_ids_are_skipped(self):
        tasks = [task(1), task(2)]
        picked = scheduler.pick(tasks, 5, NOW + 10, busy={tasks[0].id})
        self.assertEqual(picked, [tasks[1]])

    def test_no_starvation_within_a_priority(self):
        # However many newer tasks arrive, the oldest pending one is always picked first.
        tasks = [task(0)] + [task(i) for i in range(1, 50)]
        self.assertEqual(scheduler.pick(list(reversed(tasks)), 1, NOW + 100), [tasks[0]])

    def test_next_wakeup_and_drained(self):
        tasks = [task(1, not_before=NOW + 30), task(2, not_before=NOW + 20), task(3, status="failed")]
        self.assertEqual(scheduler.next_wakeup(tasks, NOW), NOW + 20)
        self.assertFalse(scheduler.drained(tasks))
        self.assertTrue(scheduler.drained([task(3, status="failed"), task(4, status="completed")]))


if __name__ == "__main__":
    unittest.main()


class LoanTest(unittest.TestCase):
    """A running task whose agent waits on sub-tasks lends them its slot."""

    def setUp(self):
        self.parent = task(1, status="running")
        self.older, self.sub_a, self.sub_b = task(2), task(5), task(6)
        self.parent.update(waiting={"ids": [self.sub_a.id, self.sub_b.id], "pid": 4242,
                                    "pid_start": "t"})
        self.tasks = [self.parent, self.older, self.sub_a, self.sub_b]

    def test_an_open_loan_goes_to_what_is_waited_for_not_to_the_oldest(self):
        riders, loans = scheduler.loans(self.tasks, alive=lambda w: True)
        self.assertEqual((riders, loans), (0, [{self.sub_a.id, self.sub_b.id}]))
        # parallel 1, held by the parent: no free slot but the loan, which takes one sub-task
        picked = scheduler.pick(self.tasks, 0, NOW + 100, loans=loans)
        self.assertEqual(picked, [self.sub_a])
        # a free slot too: the oldest task, and the loan still goes to a sub-task
        self.assertEqual(scheduler.pick(self.tasks, 1, NOW + 100, loans=loans),
                         [self.older, self.sub_a])

    def test_a_running_sub_task_rides_on_the_loan(self):
        self.sub_a.update(status="running")
        self.assertEqual(scheduler.loans(self.tasks, alive=lambda w: True), (1, []))

    def test_no_loan_once_the_wait_is_gone_or_what_it_waits_for_ended(self):
        self.assertEqual(scheduler.loans(self.tasks, alive=lambda w: False), (0, []))
        self.sub_a.update(status="completed")
        self.sub_b.update(status="failed")
        self.assertEqual(scheduler.loans(self.tasks, alive=lambda w: True), (0, []))

    def test_parallel_waits_of_one_process_add_up_and_end_one_by_one(self):
        from orchestra.transitions import waited, waiting
        a, b = self.sub_a.id, self.sub_b.id
        parent = task(1, status="running")
        one = dict(pid=4242, pid_start="t")
        parent = waiting(parent, ids=[a], **one)
        parent = waiting(parent, ids=[a, b], **one)  # a second call of the same MCP server
        self.assertEqual(parent.waiting["ids"], [a, a, b])
        parent = waited(parent, ids=[a], **one)  # the first ends: the second still waits
        tasks = [parent, self.older, self.sub_a, self.sub_b]
        self.assertEqual(scheduler.loans(tasks, alive=lambda w: True)[1], [{a, b}])
        self.assertIsNone(waited(parent, ids=[a, b], pid=99, pid_start="x"))  # not its wait
        self.assertIsNone(waited(parent, ids=[a, b], **one).waiting)
        other = waiting(parent, ids=[b], pid=99, pid_start="x")  # another process: replaced
        self.assertEqual(other.waiting, {"ids": [b], "pid": 99, "pid_start": "x"})

    def test_the_loan_covers_what_a_waited_task_depends_on(self):
        dep = task(7)
        self.sub_a.update(depends_on=[dep.id])
        self.parent.update(waiting={"ids": [self.sub_a.id], "pid": 4242, "pid_start": "t"})
        _, loans = scheduler.loans(self.tasks + [dep], alive=lambda w: True)
        self.assertEqual(loans, [{self.sub_a.id, dep.id}])
        self.assertEqual(scheduler.pick(self.tasks + [dep], 0, NOW + 100, loans=loans), [dep])
