"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven over the
DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages ended by NUL on file
descriptors 3 and 4), standard library only. Skipped where Chromium is absent."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from orchestra.web import server
from tests.helpers import ProjectCase, main_in_process, wait_until

CHROMIUM = shutil.which("chromium")


class DevTools:
    """A headless Chromium showing `url`, and the protocol to its page."""

    def __init__(self, url, profile):
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def pipes():  # the protocol's descriptors, where Chromium looks for them
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run",
             "--window-size=1280,800", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pipes, close_fds=False)
        os.close(to_child)
        os.close(from_child)
        self._next, self._answers, self._buffer = 0, {}, b""
        self._lock = threading.Lock()
        targets = wait_until(lambda: [t for t in self.call("Target.getTargets")["targetInfos"]
                                      if t["type"] == "page"], 20, message="Chromium's page")
        self.session = self.call("Target.attachToTarget", targetId=targets[0]["targetId"],
                                 flatten=True)["sessionId"]

    def call(self, method, session=None, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._read, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the protocol pipe")
                self._buffer += chunk
            text, _, self._buffer = self._buffer.partition(b"\0")
            answer = json.loads(text)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def page(self, expression):
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", self.session, expression=expression,
                           returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", self.session, format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        self.process.kill()
        self.process.wait()
        os.close(self._write)
        os.close(self._read)


@unittest.skipUnless(CHROMIUM, "needs Chromium (apt-get install chromium)")
class Browser(ProjectCase):
    def test_the_page_shows_the_queue_and_a_live_transition(self):
        evil = self.queued("<script>document.title='owned'</script> \x1b]0;x\x07")
        other = self.queued("echo=hello done")
        srv = server.Server([self.root], "127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        profile = tempfile.mkdtemp(prefix="orchestra-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        browser = DevTools(srv.url, profile)
        self.addCleanup(browser.close)

        wait_until(lambda: browser.page("document.body && document.body.dataset.ready") == "yes"
                   and browser.page("document.querySelectorAll('tr.task').length") == 2, 15,
                   message="the queue's rows")
        self.assertEqual(browser.page("location.search"), "")  # the token left the address bar
        self.assertIn("<script>document.title='owned'</script> \u241b]0;x\u2407",
                      browser.page(f"document.querySelector('tr[data-id=\"{evil}\"]').textContent"))
        self.assertEqual(browser.page("document.querySelectorAll('script').length"), 1)
        self.assertNotEqual(browser.page("document.title"), "owned")
        wait_until(lambda: browser.page("document.getElementById('live').textContent") == "live",
                   10, message="the live stream connected")

        self.assertEqual(main_in_process(self.root, "cancel", other)[0], 0)
        wait_until(lambda: browser.page(
            f"document.querySelector('tr[data-id=\"{other}\"]').dataset.status") == "cancelled",
            5, message="the transition on the page")
        # Outside the project, which its cleanup removes: the last run's stays to be looked at.
        shot = os.path.join(tempfile.gettempdir(), "orchestra-dashboard-test.png")
        browser.screenshot(shot)
        print(f"\n(screenshot kept in {shot})", end=" ")
        self.assertGreater(os.path.getsize(shot), 5000)

    def queued(self, prompt):
        code, out, err = main_in_process(self.root, "start", "-q", "fake", "--", prompt)
        self.assertEqual(code, 0, err)
        return out.strip()
