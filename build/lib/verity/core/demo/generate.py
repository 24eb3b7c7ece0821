"""Turns the per-topic facts in facts.yaml into cards, one template per kind of card.

Each function returns plain card records (the same keys `verity import` reads), so the
demo goes through the same import path as a customer's content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from django.utils.text import slugify

Record = dict[str, Any]
HERE = Path(__file__).resolve().parent

SALES, SUCCESS, SUPPORT, HANDBOOK = (
    "Sales Playbook",
    "Customer Success",
    "Support Runbooks",
    "Company Handbook",
)


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def numbered(items: list[str]) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))


def card(
    key: str,
    title: str,
    content: str,
    collection: str,
    folder: str,
    tags: list[str],
    verifier: str,
    interval: int | None = 90,
    lang: str = "en",
) -> Record:
    return {
        "external_id": f"demo:{key}",
        "title": title,
        "content": content.strip() + "\n",
        "collection": collection,
        "folders": [folder],
        "tags": tags,
        "verifier": verifier,
        "verification_interval_days": interval,
        "lang": lang,
    }


def battlecards(c: dict[str, Any]) -> Iterator[Record]:
    name, slug = c["name"], slugify(c["name"])
    folder = f"Competitors/{name}"
    tags = ["competitive", slug]
    table = "\n".join(f"| {row[0]} | {row[1]} | {row[2]} |" for row in c["comparison"])
    yield card(
        f"battlecard-{slug}",
        f"Battlecard: {name}",
        f"""
**{name}** is {c["tagline"]}. Founded {c["founded"]}. They sell to {c["target"]}.

## Where they are strong

Be honest about these — prospects notice when we are not.

{bullets(c["strengths"])}

## Where they are weak

{bullets(c["weaknesses"])}

## Side by side

| | Northwind Cloud | {name} |
| --- | --- | --- |
{table}

See also: *Landmines to set against {name}* and *What {name} says about us*.
""",
        SALES,
        folder,
        tags,
        "mei.lin@northwind.example",
        90,
    )
    yield card(
        f"pricing-vs-{slug}",
        f"{name} pricing compared with ours",
        f"""
## Their pricing

{c["pricing"]}.

## How to compare fairly

1. Compare **three-year total cost**, not list price per user.
2. Include everything the customer must buy to go live: services, premium connectors, overages.
3. Use the customer's real volumes (users, invoices or tasks a month) — ask for the peak month.

## Our answer

- Growth edition: $45 per user per month, annual; no usage overages.
- Enterprise: $70 per user per month with SSO/SCIM, 7-year audit log and a 99.9% SLA.
- Multi-year terms lock the price (see *Multi-year discounts and price locks*).

> Never share a competitor's quote in writing, even if the prospect sent it to you.
""",
        SALES,
        folder,
        [*tags, "pricing"],
        "mei.lin@northwind.example",
        90,
    )
    questions = "\n\n".join(f"**“{q}”**  \n*Why it works:* {why}" for q, why in c["landmines"])
    yield card(
        f"landmines-{slug}",
        f"Landmines to set against {name}",
        f"""
Ask these early in discovery, before the prospect sees {name}'s demo. Never name {name} while
you ask: the questions should feel like good discovery, not an attack.

{questions}
""",
        SALES,
        folder,
        [*tags, "discovery"],
        "sam.okafor@northwind.example",
        180,
    )
    rows = "\n".join(f"| “{claim}” | {answer} |" for claim, answer in c["fud"])
    yield card(
        f"fud-{slug}",
        f"What {name} says about us — and how to answer",
        f"""
| What you will hear | How to answer |
| --- | --- |
{rows}

Stay calm and factual. If you do not know the answer, say you will check and ask in
#competitive — a wrong answer costs more than a late one.
""",
        SALES,
        folder,
        [*tags, "objections"],
        "mei.lin@northwind.example",
        90,
    )
    yield card(
        f"winloss-{slug}",
        f"Win and loss lessons: {name}",
        f"""
## A win worth retelling

{c["win_story"]}

## Why we lose

{bullets(c["loss_reasons"])}

## What to do differently

- Qualify out early when the pattern above matches — a fast *no* saves a quarter.
- Bring the SE into the second call; live building beats slides against {name}.
- Log every {name} deal's outcome with a reason code so this card stays true.
""",
        SALES,
        folder,
        [*tags, "win-loss"],
        "Sales SMEs",
        180,
    )


def objection(o: dict[str, Any], n: int, russian: bool = False) -> Record:
    if russian:
        labels = ("Что за этим стоит", "Как ответить", "Доказательства", "Следующий вопрос")
        title = f"Возражение: «{o['objection'].rstrip('.')}»"
        folder, tags, verifier = (
            "Русскоязычные продажи",
            ["возражения"],
            "olga.kuznetsova@northwind.example",
        )
    else:
        labels = ("What they usually mean", "How to respond", "Proof points", "Ask next")
        title = f"Objection: “{o['objection'].rstrip('.')}”"
        folder, tags, verifier = "Objection Handling", ["objections"], "Sales SMEs"
    proof = f"\n## {labels[2]}\n\n{bullets(o['proof'])}\n" if o.get("proof") else ""
    return card(
        f"{'ru-' if russian else ''}objection-{n}",
        title,
        f"""
## {labels[0]}

{o["meaning"]}

## {labels[1]}

{numbered(o["respond"])}
{proof}
## {labels[3]}

> {o["ask"]}
""",
        SALES,
        folder,
        tags,
        verifier,
        180,
        "ru" if russian else "en",
    )


def discovery(p: dict[str, Any]) -> Record:
    sections = [
        ("Situation", p["situation"]),
        ("Pain", p["pain"]),
        ("Impact", p["impact"]),
        ("Decision", p["decision"]),
    ]
    body = "\n\n".join(f"### {name}\n\n{bullets(qs)}" for name, qs in sections)
    return card(
        f"discovery-{slugify(p['persona'])}",
        f"Discovery questions for the {p['persona']}",
        f"""
## What the {p["persona"]} cares about

{bullets(p["cares"])}

## Questions

{body}

## Red flags

{bullets(p["red_flags"])}

Write the answers in the opportunity's discovery notes — the SE reads them before the demo.
""",
        SALES,
        "Discovery",
        ["discovery", slugify(p["persona"])],
        "sam.okafor@northwind.example",
        180,
    )


def product_cards(p: dict[str, Any]) -> Iterator[Record]:
    short = p["short"].lower()
    folder = "Insights Launch" if short == "insights" else "Demo Scripts"
    steps = "\n".join(f"| {t} | {show} | {say} |" for t, show, say in p["demo_steps"])
    yield card(
        f"demo-{short}",
        f"Demo script: {p['name']} ({p['demo_minutes']} minutes)",
        f"""
**Story:** {p["demo_story"]}

Use the *Northwind Demo — Manufacturing* tenant and reset it before the call
(Admin → Demo data → Reset).

| Minute | Show | Say |
| --- | --- | --- |
{steps}

## The moment to land

{p["wow"]}

## Before you finish

- Recap the two pains the prospect named in discovery, in their words.
- Agree the next step and put it in the calendar while you are still on the call.
""",
        SALES,
        folder,
        ["demo", short],
        "sam.okafor@northwind.example",
        90,
    )
    yield card(
        f"product-{short}",
        f"{p['name']}: product overview",
        f"""
**{p["name"]}** is {p["what"]}.

**Who buys it:** {p["buyers"]}.

## What it does

{bullets(p["capabilities"])}

## Editions

{p["editions"]}.

## Limits worth knowing

{p["limits"]}.
""",
        HANDBOOK,
        "Products",
        ["product", short],
        "priya.raman@northwind.example",
        180,
    )


def connector(c: dict[str, Any]) -> Record:
    rows = "\n".join(f"| {what} | {direction} | {every} |" for what, direction, every in c["syncs"])
    return card(
        f"connector-{slugify(c['name'])}",
        f"Connector: {c['name']}",
        f"""
## What it syncs

| Object | Direction | Frequency |
| --- | --- | --- |
{rows}

**Edition:** {c["edition"]}.

## Setup gotchas

{numbered(c["gotchas"])}

Setup problems go to Support; mapping questions during a sale go to the SE team.
""",
        SUPPORT,
        "Troubleshooting/Connect",
        ["connect", "integrations", slugify(c["name"])],
        "Support SMEs",
        180,
    )


def security(s: dict[str, Any], n: int) -> Record:
    return card(
        f"security-{n}",
        f"Security questionnaire: {s['topic']}",
        f"""
## Answer to paste

> {s["answer"]}

## Details for follow-up questions

{s["details"]}

**Evidence:** {s["evidence"]}.

Anything not covered here goes to security@northwind.example — do not improvise answers
on security questionnaires.
""",
        SALES,
        "Discovery",
        ["security", "rfp"],
        "sam.okafor@northwind.example",
        90,
    )


def troubleshooting(t: dict[str, Any], n: int, russian: bool = False) -> Record:
    if russian:
        labels = ("Возможные причины", "Как проверить", "Как исправить", "Когда эскалировать")
        folder, tags = "Инструкции поддержки", ["диагностика", t["product"].lower()]
        verifier = "dmitry.orlov@northwind.example"
    else:
        labels = ("Likely causes", "Check", "Fix", "Escalate to tier 3 when")
        folder, tags = f"Troubleshooting/{t['product']}", ["troubleshooting", t["product"].lower()]
        verifier = "Support SMEs"
    causes = "\n\n".join(
        f"### {i}. {cause}\n\n- **{labels[1]}:** {check}\n- **{labels[2]}:** {fix}"
        for i, (cause, check, fix) in enumerate(t["causes"], start=1)
    )
    return card(
        f"{'ru-' if russian else ''}ts-{n}",
        f"{t['product']}: {t['symptom']}",
        f"""
## {labels[0]}

{causes}

## {labels[3]}

{t["escalate"]}
""",
        SUPPORT,
        folder,
        tags,
        verifier,
        90,
        "ru" if russian else "en",
    )


def churn_signal(s: dict[str, Any], n: int) -> Record:
    return card(
        f"churn-{n}",
        f"Churn-risk signal: {s['signal']}",
        f"""
**What it looks like:** {s["looks_like"]}

**Why it matters:** {s["why"]}

## The play

{numbered(s["play"])}

**Health-score weight:** {s["weight"]} points. Log what you did in the account's success plan.
""",
        SUCCESS,
        "Churn Risk",
        ["churn-risk", "health-score"],
        "Success SMEs",
        180,
    )


def expansion(e: dict[str, Any], n: int) -> Record:
    return card(
        f"expansion-{n}",
        f"Expansion play: {e['name']}",
        f"""
| | |
| --- | --- |
| **Trigger** | {e["trigger"]} |
| **Talk to** | {e["who"]} |
| **Offer** | {e["offer"]} |

## The pitch

> {e["pitch"]}

## Hand-off

Once the customer agrees to a conversation, create an expansion opportunity and hand it to
the account's AE with your notes. The CSM keeps the relationship; the AE runs the commercial
part.
""",
        SUCCESS,
        "Expansion",
        ["expansion"],
        "Success SMEs",
        90,
    )


def renewal_stage(r: dict[str, Any]) -> Record:
    return card(
        f"renewal-{r['days']}",
        f"Renewal at {r['days']} days: {r['goal'].lower()}",
        f"""
{r["days"]} days before the renewal date.

{chr(10).join(f"- [ ] {item}" for item in r["checklist"])}

Part of the renewal playbook; the whole sequence is in *Renewal playbook: overview*.
""",
        SUCCESS,
        "Renewals",
        ["renewals"],
        "rachel.kim@northwind.example",
        180,
    )


def generated_cards() -> list[Record]:
    facts = yaml.safe_load((HERE / "facts.yaml").read_text(encoding="utf-8"))
    records: list[Record] = []
    for competitor in facts["competitors"]:
        records.extend(battlecards(competitor))
    records += [objection(o, n) for n, o in enumerate(facts["objections"], 1)]
    records += [objection(o, n, russian=True) for n, o in enumerate(facts["objections_ru"], 1)]
    records += [discovery(p) for p in facts["personas"]]
    for product in facts["products"]:
        records.extend(product_cards(product))
    records += [connector(c) for c in facts["connectors"]]
    records += [security(s, n) for n, s in enumerate(facts["security_topics"], 1)]
    records += [troubleshooting(t, n) for n, t in enumerate(facts["troubleshooting"], 1)]
    records += [
        troubleshooting(t, n, russian=True) for n, t in enumerate(facts["troubleshooting_ru"], 1)
    ]
    records += [churn_signal(s, n) for n, s in enumerate(facts["churn_signals"], 1)]
    records += [expansion(e, n) for n, e in enumerate(facts["expansion_plays"], 1)]
    records += [renewal_stage(r) for r in facts["renewal_stages"]]
    return records
