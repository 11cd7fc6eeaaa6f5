"""Call scripts beside each dialer export: what a caller says, in the dialer's format.

Texts are `calls/<lang>.yaml` of the shared base (then the blueprint), filled like the
message scripts (see messages.py). CallHub and ThruTalk take the script as text pasted
into the campaign; Spoke takes interaction steps (an initial message, a question with
answers, each answer with its reply) and canned responses, as in its campaign JSON.
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.render.messages import MessageBook, MessageTexts, message_context

FOLDER = "calls"
ANSWERS = ("yes", "maybe", "no")
# Spoke fills these in for each texter and contact.
SPOKE_FIELDS = {0: "{firstName}", 1: "{texterFirstName}"}


class CallScripts:
    """Renders the call scripts of one blueprint (its MessageBook's environment)."""

    def __init__(self, book: MessageBook):
        self.book = book

    def files(
        self, nation: dict[str, Any], network: dict[str, Any], dialers: list[str]
    ) -> dict[str, bytes]:
        """`<dialer>-script.<lang>.txt|json` for every dialer and language of the nation."""
        files: dict[str, bytes] = {}
        for lang in nation["languages"]:
            script = self.script(nation, network, lang)
            for dialer in dialers:
                if dialer == "spoke":
                    files[f"spoke-script.{lang}.json"] = _json(spoke_steps(script))
                else:
                    files[f"{dialer}-script.{lang}.txt"] = text_script(script, dialer).encode()
        return files

    def script(self, nation: dict[str, Any], network: dict[str, Any], lang: str) -> dict:
        """The filled call script of `nation` in `lang`, as plain data."""
        calls = self.book.texts(lang, FOLDER)
        context = message_context(self.book.blueprint, nation, network, lang, self.book.texts(lang))

        def fill(key: str, value: Any) -> str:
            return self.book.fill(calls, key, value, context)

        answers = calls.section("answers")
        outcomes = calls.section("outcomes")
        return {
            "nation": nation["name"],
            "lang": lang,
            "labels": calls.section("labels"),
            "fill_ins": [str(item) for item in calls.data.get("fill_ins") or []],
            **{key: fill(key, calls.data.get(key)) for key in _STEPS},
            "answers": {key: fill(f"answers.{key}", answers.get(key)) for key in ANSWERS},
            "objections": [
                {
                    "question": fill(f"objections.{i}.question", item.get("question")),
                    "answer": fill(f"objections.{i}.answer", item.get("answer")),
                }
                for i, item in enumerate(_items(calls, "objections"))
            ],
            "outcomes": {
                "title": str(outcomes.get("title", "")),
                "items": outcomes.get("items") or [],
            },
        }


_STEPS = ("intro", "listen", "pledge_question", "volunteer_ask")


def text_script(script: dict[str, Any], dialer: str) -> str:
    """The script as numbered text, for CallHub's and ThruTalk's script box."""
    labels = script["labels"]
    lines = [f"{labels.get('title', '')} · {script['nation']} ({dialer}, {script['lang']})", ""]
    for number, key in enumerate(_STEPS, start=1):
        lines += [f"{number}. {labels.get(key, key)}", script[key]]
        if key == "pledge_question":
            answer_labels = labels.get("answers") or {}
            lines += [f"   - {answer_labels.get(a, a)}: {script['answers'][a]}" for a in ANSWERS]
        lines.append("")
    lines.append(f"{len(_STEPS) + 1}. {labels.get('objections', 'objections')}")
    for item in script["objections"]:
        lines += [f"   {item['question']}", f"   → {item['answer']}"]
    lines += ["", f"{len(_STEPS) + 2}. {script['outcomes']['title']}"]
    for item in script["outcomes"]["items"]:
        note = f" ({item['note']})" if item.get("note") else ""
        lines.append(f"   [{item['code']}] {item['label']}{note}")
    return "\n".join(lines) + "\n"


def spoke_steps(script: dict[str, Any]) -> dict[str, Any]:
    """Spoke's interaction steps: the opening text, the pledge question and the replies."""
    spoke = {name: _spoke_text(script, script[name]) for name in _STEPS}
    answer_labels = script["labels"].get("answers") or {}
    children = [
        _step(
            f"pledge-{answer}",
            _spoke_text(script, script["answers"][answer]),
            answer=str(answer_labels.get(answer, answer)),
            parent="pledge",
            question=spoke["volunteer_ask"] if answer == "yes" else "",
        )
        for answer in ANSWERS
    ]
    opening = f"{spoke['intro']} {spoke['pledge_question']}"
    root = _step("pledge", opening, question=script["pledge_question"], steps=children)
    canned = [
        {"title": item["question"], "text": _spoke_text(script, item["answer"])}
        for item in script["objections"]
    ]
    return {"interactionSteps": [root], "cannedResponses": canned}


def _step(
    step_id: str,
    text: str,
    answer: str = "",
    parent: str | None = None,
    question: str = "",
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": step_id,
        "questionText": question,
        "scriptOptions": [text],
        "answerOption": answer,
        "answerActions": "",
        "parentInteractionId": parent,
        "isDeleted": False,
        "interactionSteps": steps or [],
    }


def _spoke_text(script: dict[str, Any], text: str) -> str:
    """Replace the script's fill-ins with Spoke's own fields ({firstName}...)."""
    for index, fill_in in enumerate(script["fill_ins"]):
        if index in SPOKE_FIELDS:
            text = text.replace(f"[{fill_in}]", SPOKE_FIELDS[index])
    return text


def _items(calls: MessageTexts, key: str) -> list[dict[str, Any]]:
    items = calls.data.get(key) or []
    return [item for item in items if isinstance(item, dict)]


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
