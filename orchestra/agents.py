"""Agent definitions: the built-in presets, .orchestra-cli/agent-config.json, prompt templates
and the one-pass placeholder substitution that builds an agent's argv."""

import json
import os
import re

from orchestra.errors import OrchestraError
from orchestra.task import COMPLETION_MODES, OUTPUT_FORMATS

# `{python}` as a command means the interpreter running orchestra (for the built-in demo).
PYTHON = "{python}"

PRESETS = {
    "demo": {
        "command": PYTHON, "args": ["-m", "orchestra.demo", "{prompt}"],
        "promptTemplate": "{prompt}", "completion": "sentinel",
        "description": "built-in demo agent: plans, writes a file, follows the protocol",
    },
    "claude": {
        "command": "claude",
        # stream-json (which -p takes only with --verbose): `logs -f` shows the run as it goes.
        "args": ["-p", "{prompt}", "--output-format", "stream-json", "--verbose",
                 "--permission-mode", "bypassPermissions"],
        "resumeArgs": ["-p", "{prompt}", "--resume", "{sessionId}", "--output-format",
                       "stream-json", "--verbose", "--permission-mode", "bypassPermissions"],
        "output": "claude-stream-json",
        "env": {"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
        "description": "Claude Code, headless (as root it also needs IS_SANDBOX=1 in env)",
    },
    "codex": {
        "command": "codex",
        # Its sandbox lets commands write only below the cwd: --add-dir opens the protocol
        # files' directory to a task in a worktree. `exec resume` takes no sandbox options of
        # its own (without them a resumed session is read-only), so they come before it.
        "args": ["exec", "--json", "--sandbox", "workspace-write", "--add-dir", "{stateDir}",
                 "--skip-git-repo-check", "{prompt}"],
        "resumeArgs": ["exec", "--json", "--sandbox", "workspace-write", "--add-dir", "{stateDir}",
                       "--skip-git-repo-check", "resume", "{sessionId}", "{prompt}"],
        "output": "codex-jsonl",
        "description": "OpenAI Codex CLI, headless (stdin is always closed)",
    },
    "gemini": {
        "command": "gemini",
        # Its file tools refuse paths outside the workspace, and it exits 55 in a folder it
        # has not been told to trust (every new worktree is one). stream-json names the session
        # first: a run ended on a limit resumes it (--resume takes its id).
        "args": ["-p", "{prompt}", "--output-format", "stream-json", "--approval-mode", "yolo",
                 "--skip-trust", "--include-directories", "{stateDir}"],
        "resumeArgs": ["--resume", "{sessionId}", "-p", "{prompt}", "--output-format",
                       "stream-json", "--approval-mode", "yolo", "--skip-trust",
                       "--include-directories", "{stateDir}"],
        "output": "gemini-stream-json",
        "description": "Gemini CLI, headless",
    },
    "opencode": {
        # `run` rejects what would ask for approval, writes outside the cwd among them:
        # --auto approves what is not denied. It waits out a rate limit saying nothing on
        # stdout: its warnings on stderr tell the limit and when it lifts. --agent takes the
        # agent file `init --for opencode` writes in .orchestra-cli/agent/, which OpenCode
        # reads as a config directory of its own (without one it warns and goes on).
        "command": "opencode",
        "args": ["run", "--format", "json", "--auto", "--print-logs", "--log-level", "WARN",
                 "--agent", "{agent}", "{prompt}"],
        "resumeArgs": ["run", "--format", "json", "--auto", "--print-logs", "--log-level", "WARN",
                       "--agent", "{agent}", "--session", "{sessionId}", "{prompt}"],
        "env": {"OPENCODE_CONFIG_DIR": "{root}/.orchestra-cli"},
        "output": "opencode-jsonl",
        "description": "OpenCode, headless",
    },
    "aider": {
        # Aider edits files only through its chat, inside its git repository: it cannot be
        # relied on to write the protocol files (it refuses paths the repository ignores, as
        # .orchestra/ often is), so its exit and its output decide. orchestra commits the
        # task's work on its branch: Aider's own commits would take in whatever it wrote,
        # and in a run without a worktree land on the user's branch.
        "command": "aider",
        "args": ["--message", "{prompt}", "--yes-always", "--no-stream", "--no-pretty",
                 "--no-fancy-input", "--no-auto-commits", "--no-dirty-commits",
                 "--no-check-update", "--no-analytics", "--no-show-release-notes"],
        "output": "aider-text", "completion": "exit",
        "promptTemplate": "{prompt}\n\n{previousError}\n---\nYou are running unattended as task "
                          "{taskId} under orchestra. Nobody will answer questions: make "
                          "reasonable decisions yourself.\n",
        "description": "Aider, one message then exit",
    },
    "cursor": {
        "command": "cursor-agent",
        "args": ["-p", "--output-format", "stream-json", "--force", "{prompt}"],
        "resumeArgs": ["-p", "--output-format", "stream-json", "--force", "--resume", "{sessionId}",
                       "{prompt}"],
        "output": "cursor-stream-json",
        "description": "Cursor agent, headless",
    },
    # Qwen Code 0.15.10 and GitHub Copilot CLI 1.0.102 run against a Chat Completions
    # stand-in (tests/test_real_qwen.py, test_real_copilot.py). Amp and auggie are not run
    # (no stand-in of their APIs here); Amp's flags checked against its 2026-09-23 release.
    "qwen": {
        "command": "qwen",
        "args": ["-p", "{prompt}", "--output-format", "stream-json", "--yolo",
                 "--include-directories", "{stateDir}"],
        "resumeArgs": ["--resume", "{sessionId}", "-p", "{prompt}", "--output-format",
                       "stream-json", "--yolo", "--include-directories", "{stateDir}"],
        "output": "claude-stream-json",  # Qwen Code's stream-json is Claude Code's schema
        "description": "Qwen Code, headless",
    },
    "copilot": {
        "command": "copilot",
        "args": ["-p", "{prompt}", "--output-format", "json", "--yolo", "--no-ask-user"],
        "resumeArgs": ["--resume", "{sessionId}", "-p", "{prompt}", "--output-format", "json",
                       "--yolo", "--no-ask-user"],
        "output": "copilot-jsonl",
        "description": "GitHub Copilot CLI, headless (--yolo: every tool, path and URL)",
    },
    "amp": {
        "command": "amp",
        "args": ["-x", "{prompt}", "--stream-json"],
        "output": "claude-stream-json",  # "Claude Code-compatible stream JSON"
        "description": "Amp, execute mode (unattended runs need amp.dangerouslyAllowAll in "
                       "its settings)",
    },
    "auggie": {
        "command": "auggie", "args": ["--print", "{prompt}"],
        "output": "text",
        "description": "Augment's auggie, headless",
    },
}

# Also the end of the OpenCode agent files (subagents.py), where no placeholder is replaced.
SUBTASKS = """You may hand parts of the work to other agents and wait for them:
   id=$(orchestra start -q AGENT "<prompt>") && orchestra wait "$id"
(or orchestra's MCP tools start and wait). Exit 0 only if it completed; `orchestra show "$id"`
says what it did. While you wait, your slot runs what you wait for. Never wait for your own
task ($ORCHESTRA_TASK_ID) or for one that depends on it: that is exit 2.
"""

DEFAULT_TEMPLATE = """{prompt}

{previousError}
---
You are running unattended as task {taskId} under orchestra. Nobody will answer questions:
make reasonable decisions yourself and note them in the plan.

Protocol:
1. Before changing anything, write your plan as a short Markdown checklist to
   {planFile}
   and tick items off as you go.
2. When the work is finished and checked, create the file
   {doneFile}
   holding a one-line summary of what you did.
3. If you cannot finish, do not create the .done file. Write
   {errorFile}
   holding JSON: {"error": "<one-line reason>", "details": "<what you tried and what is missing>"}
   and stop.
Your output is recorded in {logFile}.
""" + SUBTASKS

# Roles, for the README's `start coder …` and `start tester …`: Claude Code with the protocol
# and a paragraph on the job. `init` writes each template to prompts/<role>.md, where it is
# edited (and `command`/`args` in the config, to give the role to another CLI).
ROLES = {
    "coder": "Your role: the coder. Make the change the task asks for in small, working\n"
             "steps, in the project's own style, and run its tests before you finish.",
    "tester": "Your role: the tester. Write or extend tests for what the task names and run\n"
              "them; change other code only where it must change to be tested, and name any\n"
              "bug the tests found in the .done summary.",
}
for _role, _job in ROLES.items():
    PRESETS[_role] = dict(PRESETS["claude"],
                          promptTemplate=DEFAULT_TEMPLATE.replace("---\n", f"---\n{_job}\n\n", 1),
                          description=f"Claude Code as the {_role} (prompts/{_role}.md)")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
KNOWN_KEYS = {"command", "args", "promptTemplateFile", "promptTemplate", "env", "cwd", "timeout",
              "maxRetries", "maxParallel", "completion", "description", "output",
              "limitPatterns", "resumeArgs", "verify", "isolation"}


def substitute(text, values):
    """Replace {name} for the names in `values`, in one pass: inserted text is never re-read,
    so braces in a user's prompt stay as they are. Unknown {names} are left alone."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class Agent:
    def __init__(self, name, spec, config_dir):
        self.name = name
        self.spec = spec
        self.config_dir = config_dir

    command = property(lambda self: self.spec["command"])
    args = property(lambda self: self.spec.get("args", []))
    env = property(lambda self: self.spec.get("env", {}))
    cwd = property(lambda self: self.spec.get("cwd"))
    timeout = property(lambda self: self.spec.get("timeout"))
    max_retries = property(lambda self: self.spec.get("maxRetries", 0))
    completion = property(lambda self: self.spec.get("completion", "either"))
    output = property(lambda self: self.spec.get("output"))
    description = property(lambda self: self.spec.get("description", ""))
    isolation = property(lambda self: self.spec.get("isolation"))

    def template(self):
        """The prompt template text (the default protocol when the agent names none)."""
        if "promptTemplate" in self.spec:
            return self.spec["promptTemplate"]
        ref = self.spec.get("promptTemplateFile")
        if not ref:
            return DEFAULT_TEMPLATE
        for base in (self.config_dir, os.path.dirname(self.config_dir)):
            path = os.path.join(base, ref)
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as f:
                        return f.read()
                except (OSError, UnicodeDecodeError) as e:
                    raise OrchestraError(f"agent {self.name!r}: cannot read prompt template {path}: {e}")
        raise OrchestraError(
            f"agent {self.name!r}: prompt template {ref!r} not found in {self.config_dir} "
            "(fix promptTemplateFile in agent-config.json)")

    def argv(self, values, resume=False):
        """The command line for one run. `values` maps placeholder names to text, with the
        rendered prompt under 'prompt'. resume=True (a run stopped by a usage limit, whose
        session the agent reported) uses `resumeArgs` where the agent has them."""
        args = self.spec.get("resumeArgs", self.args) if resume else self.args
        return [substitute(self.command, values)] + [substitute(a, values) for a in args]


_loaded = {}  # path -> ((mtime_ns, size), agents): a supervisor launches many tasks


def load_config(path):
    """The "agents" mapping of agent-config.json; {} when the file does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise OrchestraError(f"cannot read {path}: {e}")
    key = (st.st_mtime_ns, st.st_size)
    hit = _loaded.get(path)
    if hit and hit[0] == key:
        return hit[1]
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OrchestraError(f"cannot read {path}: {e}")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise OrchestraError(f"{path} is nested too deeply to read; fix or remove it") from None
    except ValueError as e:
        raise OrchestraError(f"{path} is not valid JSON ({e}); fix or remove it")
    agents = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(agents, dict):
        raise OrchestraError(f'{path} must hold an object {{"agents": {{NAME: {{...}}}}}}')
    _loaded[path] = (key, agents)
    return agents


def validate(name, spec, path):
    where = f"agent {name!r} in {path}"
    if not isinstance(spec, dict):
        raise OrchestraError(f"{where} must be an object")
    # Unknown keys are tolerated (configs shared with other tools); the commands a user runs
    # warn of them once (suggest.config_warnings), not at each launch.
    if not isinstance(spec.get("command"), str) or not spec["command"].strip():
        raise OrchestraError(f'{where} needs "command": a program name or path')
    for key in ("args", "resumeArgs", "limitPatterns"):
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise OrchestraError(f'{where}: "{key}" must be a list of strings')
    if spec.get("output") is not None and spec["output"] not in OUTPUT_FORMATS:
        raise OrchestraError(f'{where}: "output" must be one of {", ".join(OUTPUT_FORMATS)}')
    if spec.get("limitPatterns"):
        import re
        for pattern in spec["limitPatterns"]:
            try:
                re.compile(pattern)
            except re.error as e:
                raise OrchestraError(f'{where}: limitPatterns entry {pattern!r} is not a valid '
                                     f'regular expression ({e})') from None
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise OrchestraError(f'{where}: "env" must map names to strings')
    for key in ("promptTemplate", "promptTemplateFile", "cwd", "verify"):
        if key in spec and not isinstance(spec[key], str):
            raise OrchestraError(f'{where}: "{key}" must be a string')
    timeout = spec.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < float("inf")):
        raise OrchestraError(f'{where}: "timeout" must be a positive number of seconds')
    retries = spec.get("maxRetries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise OrchestraError(f'{where}: "maxRetries" must be a whole number >= 0')
    limit = spec.get("maxParallel")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise OrchestraError(f'{where}: "maxParallel" must be a whole number >= 1')
    if spec.get("isolation") not in (None, "worktree", "none"):
        raise OrchestraError(f'{where}: "isolation" must be "worktree" or "none"')
    if spec.get("completion", "either") not in COMPLETION_MODES:
        raise OrchestraError(f'{where}: "completion" must be one of {", ".join(COMPLETION_MODES)}')


def all_agents(layout):
    """Presets overlaid with the project's config: name -> spec."""
    merged = dict(PRESETS)
    merged.update(load_config(layout.agent_config))
    return merged


class UnknownAgent(OrchestraError):
    """No agent of that name, in the presets or a config that was read."""


def get(layout, name):
    specs = all_agents(layout)
    if name not in specs:
        from orchestra.suggest import did_you_mean
        raise UnknownAgent(
            f"unknown agent {name!r}{did_you_mean(name, sorted(specs))}; known agents: "
            f"{', '.join(sorted(specs))} "
            f"(define more in {os.path.relpath(layout.agent_config, layout.root)})")
    spec = specs[name]
    validate(name, spec, layout.agent_config if name not in PRESETS or spec is not PRESETS[name]
             else "the built-in presets")
    return Agent(name, spec, layout.config_dir)


def limits(layout):
    """name -> maxParallel for the agents that set one (a bad value counts as no limit here:
    launching that agent's tasks reports the error)."""
    out = {}
    try:
        specs = all_agents(layout)
    except OrchestraError:
        return out
    for name, spec in specs.items():
        limit = spec.get("maxParallel") if isinstance(spec, dict) else None
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
            out[name] = limit
    return out


def config_text():
    """The agent-config.json that `init` writes: every preset, editable (the templates of
    prompt_files() in files of their own)."""
    agents = {}
    for name, spec in PRESETS.items():
        agents[name] = {k: v for k, v in spec.items() if not (k == "promptTemplate" and name in ROLES)}
        if "promptTemplate" not in agents[name]:
            agents[name]["promptTemplateFile"] = f"prompts/{name if name in ROLES else 'protocol'}.md"
    return json.dumps({"agents": agents}, indent=2) + "\n"


def prompt_files():
    """(name, text) of the templates `init` writes in .orchestra-cli/prompts/."""
    return [("protocol.md", DEFAULT_TEMPLATE)] + [(f"{role}.md", PRESETS[role]["promptTemplate"])
                                                  for role in ROLES]
