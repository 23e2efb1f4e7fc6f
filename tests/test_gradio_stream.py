"""The event stream stays open LINGER_SECONDS after an event completes, so an event the
browser joins just then gets its result (ui/web/gradio_queue.py, "Lost results").

Real HTTP on loopback against a small gradio app under uvicorn: with gradio's own queue
the stream closes right after the first completion (the race the browser client loses);
with the EventQueue a second event joined at that moment completes on the same stream,
which then closes by itself, leaving no marker behind."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import gradio as gr
import httpx
from fastapi import FastAPI
from web_server import serve_app

from ui.web.gradio_queue import LINGER, LINGER_SECONDS, EventQueue, quiet_queues


def _app(quiet: bool) -> tuple[FastAPI, gr.Blocks]:
    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(lambda text: text.upper(), box, out, api_name="shout")
    app = gr.mount_gradio_app(FastAPI(), demo, path="/g")
    if quiet:
        assert quiet_queues(app)
    return app, demo


def _messages(http: httpx.Client, session: str) -> Iterator[dict]:
    with http.stream("GET", f"/g/gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                yield json.loads(line[5:])


def _join(http: httpx.Client, session: str, text: str) -> str:
    fn = next(d["id"] for d in http.get("/g/config").json()["dependencies"]
              if d["api_name"] == "shout")
    r = http.post("/g/gradio_api/queue/join",
                  json={"fn_index": fn, "data": [text], "session_hash": session})
    assert r.status_code == 200, r.text
    return r.json()["event_id"]


def _after_first_completion(quiet: bool) -> tuple[list[dict], float, EventQueue | None]:
    """Join one event, read its stream; on its completion join a second event at once.
    Returns the messages after the first completion and how long the stream then
    stayed open."""
    app, demo = _app(quiet)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        first = _join(http, "s1", "one")
        seen: list[dict] = []
        completed_at = 0.0
        for message in _messages(http, "s1"):
            if completed_at:
                seen.append(message)
            elif message.get("msg") == "process_completed" and message["event_id"] == first:
                completed_at = time.monotonic()
                _join(http, "s1", "two")  # the visitor's next click, right then
        open_for = time.monotonic() - completed_at
        queue = demo._queue if isinstance(demo._queue, EventQueue) else None
    return seen, open_for, queue


def test_gradio_alone_closes_the_stream_under_an_event_it_just_joined():
    seen, _, _ = _after_first_completion(quiet=False)
    assert [m["msg"] for m in seen] == ["close_stream"]  # "two" is never delivered here


def test_the_stream_lingers_so_the_next_event_gets_its_result():
    seen, open_for, queue = _after_first_completion(quiet=True)
    results = [m["output"]["data"] for m in seen if m.get("msg") == "process_completed"
               and not m["event_id"].startswith(LINGER)]
    assert results == [["TWO"]]
    assert seen[-1]["msg"] == "close_stream"  # and it still closes by itself
    assert LINGER_SECONDS - 0.5 < open_for < LINGER_SECONDS + 5
    assert queue is not None and not queue.pending_event_ids_session.get("s1")  # no marker


def test_a_lone_event_closes_its_stream_after_the_linger():
    app, demo = _app(quiet=True)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        event = _join(http, "s2", "solo")
        done_at, after = 0.0, []
        for message in _messages(http, "s2"):
            if done_at:
                after.append(message)
            elif message.get("event_id") == event and message["msg"] == "process_completed":
                done_at = time.monotonic()
        closed_after = time.monotonic() - done_at
        assert [m["msg"] for m in after] == ["process_completed", "close_stream"]
        assert after[0]["event_id"] == LINGER + event  # the marker's own completion
        assert closed_after >= LINGER_SECONDS - 0.5
        assert not demo._queue.pending_event_ids_session.get("s2")
