/* policy-qa chat page (inlined into the page's <head> by ui/web/chat/page.py).
 *
 * - framed by widget.js: hide the page title; Escape asks the host page to close;
 * - each reply scrolls to its own start (the lead and the best quote are read first),
 *   and the echoed question with its typing indicator is scrolled into view;
 * - an offer (hand-off, rights request, late e-mail, thumbs-down) is shown inside the
 *   conversation, after the message that offers it; a note under the e-mail box (an
 *   address refused) is scrolled into view and announced;
 * - the question box is named "Your question" for screen readers;
 * - the copy button of a reply copies plain text: the lead, then each quote with its
 *   section and link (never the message's HTML); a refused clipboard is not an error;
 * - the conversation token (ui/web/chat/conversations.py) is kept in sessionStorage:
 *   typed into the hidden token box once (gradio's Textbox sends its `input` event on a
 *   keypress; the server then restores the conversation), then
 *   copied from it whenever the server changes it ("" after "New conversation").
 */
(function () {
  "use strict";
  var KEY = "policy-qa-conversation";
  var framed = window.parent !== window;
  if (framed) document.documentElement.classList.add("pqa-framed");
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && framed) window.parent.postMessage({policyQa: "close"}, "*");
  });

  // --- scrolling, and the offers inside the conversation ---
  // The hand-off, rights-request, late e-mail and thumbs-down offers are gradio columns
  // outside the chatbot; each one that is shown is moved into the conversation, right
  // after the message that offers it (gradio unmounts it when hidden, wherever it is).
  // A hidden slot stays where gradio put the box: gradio removes the slot with the rest
  // of the component when it hides the box, and the moved box is then removed too.
  var OFFERS = ["pqa-handoff-box", "pqa-request-box", "pqa-email-box", "pqa-dislike-box"];
  var NOTES = ["pqa-handoff-note", "pqa-request-note", "pqa-email-note"];
  var seen = 0, typing = null, moved = {}, noted = {};
  function placeOffers(log, replied) {
    OFFERS.forEach(function (id) {
      var was = moved[id];
      if (was && (!was.slot.isConnected || !was.box.isConnected)) {
        // an offer closed under the visitor's focus (they sent or declined it): the
        // focus goes on to the question box, not to the page's start
        var lost = was.box.contains(document.activeElement) ||
          !document.activeElement || document.activeElement === document.body;
        was.box.remove();
        delete moved[id];
        var ask = document.querySelector("#pqa-ask textarea");
        if (lost && ask) ask.focus({preventScroll: true});
      }
      var box = document.getElementById(id);
      if (!box || log.contains(box)) return;
      var slot = document.createElement("span");
      slot.hidden = true;
      slot.className = "pqa-slot";
      box.parentNode.insertBefore(slot, box);
      moved[id] = {slot: slot, box: box};
      log.appendChild(box);
      box.classList.add("pqa-in-chat");
      // with a new reply, the reply's start stays in view; otherwise (a thumbs-down)
      // the offer is brought into view
      if (!replied) {
        setTimeout(function () {  // once gradio has laid it out
          if (box.isConnected) box.scrollIntoView({block: "nearest", behavior: "auto"});
        }, 120);
      }
    });
  }
  // the question box is named by its purpose (gradio names it "Textbox" plus its
  // button's "Ask"); an offer's note (e.g. an address refused) is announced and shown
  function label() {
    var ask = document.querySelector("#pqa-ask textarea");
    if (ask && !ask.hasAttribute("aria-label")) ask.setAttribute("aria-label", "Your question");
    NOTES.forEach(function (id) {
      var note = document.getElementById(id);
      if (!note) return;
      if (!note.hasAttribute("role")) note.setAttribute("role", "status");
      var text = note.textContent.trim();
      if (text && text !== noted[id]) note.scrollIntoView({block: "nearest", behavior: "auto"});
      noted[id] = text;
    });
  }
  function onChange() {
    label();
    var chat = document.getElementById("pqa-chat");
    if (!chat) return;
    var dots = chat.querySelector(".pqa-typing");
    if (dots && dots !== typing) {
      var row = dots.closest(".message-row") || dots;
      row.scrollIntoView({block: "end", behavior: "auto"});
    }
    typing = dots;
    var replies = chat.querySelectorAll(".pqa-answer");
    var replied = replies.length > seen;
    seen = replies.length;
    var log = chat.querySelector("[role='log']");
    if (log) placeOffers(log, replied);
    if (!replied) return;
    var last = replies[replies.length - 1];
    var bubble = last.closest(".message-row") || last;
    bubble.scrollIntoView({block: "start", behavior: "auto"});
  }
  new MutationObserver(onChange).observe(document.documentElement,
                                         {childList: true, subtree: true});

  // --- a question on its way: said when the server is slow to take it ---
  // gradio shows nothing until the server echoes the question; a slow or unreachable
  // server left the visitor with an unchanged page and no word
  var SENDING = "Sending your question\u2026";
  var STUCK = "The assistant is not answering right now. Please wait a moment, or " +
    "try again later.";
  var waiting = null;
  function messages() {
    return document.querySelectorAll("#pqa-chat [data-testid='user'], " +
                                     "#pqa-chat [data-testid='bot']").length;
  }
  function waitNote() {
    var note = document.getElementById("pqa-wait");
    var ask = document.getElementById("pqa-ask");
    if (!note && ask) {
      note = document.createElement("p");
      note.id = "pqa-wait";
      note.setAttribute("role", "status");
      ask.insertAdjacentElement("afterend", note);
    }
    return note;
  }
  function stopWaiting() {
    if (!waiting) return;
    waiting.timers.forEach(clearTimeout);
    waiting = null;
    var note = document.getElementById("pqa-wait");
    if (note) note.textContent = "";
  }
  function startWaiting() {
    var box = document.querySelector("#pqa-ask textarea");
    if (!box || !box.value.trim()) return;
    stopWaiting();
    var before = messages();
    var say = function (text) {
      return setTimeout(function () {
        var note = waitNote();
        if (note && waiting && messages() === before) note.textContent = text;
      }, text === SENDING ? 1500 : 15000);
    };
    waiting = {before: before, timers: [say(SENDING), say(STUCK)]};
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && e.target.closest &&
        e.target.closest("#pqa-ask")) startWaiting();
  }, true);
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#pqa-ask button")) startWaiting();
  }, true);
  new MutationObserver(function () {
    if (waiting && messages() !== waiting.before) stopWaiting();
  }).observe(document.documentElement, {childList: true, subtree: true});

  // --- copy as plain text ---
  function plain(answer) {
    var lines = [];
    Array.prototype.forEach.call(answer.children, function (node) {
      if (node.matches("blockquote.pqa-quote")) {
        var quote = node.querySelector("p");
        var link = node.querySelector(".pqa-source a");
        lines.push(quote ? quote.textContent.trim() : "");
        if (link) lines.push("\u2014 " + link.textContent.trim() + ": " + link.href);
        lines.push("");
      } else {
        var text = node.textContent.trim();
        if (text) { lines.push(text); lines.push(""); }
      }
    });
    return lines.join("\n").trim();
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("#pqa-chat button");
    if (!button || !/copy/i.test(button.getAttribute("aria-label") || button.title || "")) return;
    var answer = null;  // the message the button belongs to: its row, or the row before
    var row = button.closest(".message-row");
    if (!row) {
      var bar = button.closest(".message-buttons, [class*='message-buttons']");
      for (var node = bar && bar.previousElementSibling; node; node = node.previousElementSibling) {
        if (node.classList.contains("message-row")) { row = node; break; }
      }
    }
    if (row) answer = row.querySelector(".pqa-answer");
    if (!answer) return;  // a visitor's own message: gradio copies its text
    e.preventDefault();
    e.stopImmediatePropagation();
    var text = plain(answer);
    var done = function () { button.setAttribute("data-copied", "true"); };
    try {
      navigator.clipboard.writeText(text).then(done, function () {});
    } catch (err) { /* no clipboard here: nothing to do */ }
  }, true);

  // --- the conversation token ---
  // typed again every 0.6 s for up to 10 s: on a slow start gradio may bind its
  // listeners, or answer the first restore, late
  var RETRIES = 66, restored = false, last = null, tries = 0;
  function send(box, value) {
    box.value = value;
    box.dispatchEvent(new Event("input", {bubbles: true}));  // the bound value
    box.dispatchEvent(new KeyboardEvent("keypress", {key: "Unidentified", bubbles: true}));
  }
  function typeToken(box, token) {  // until the conversation is back (gradio may not listen
    // yet, or its answer may be lost as its event stream closes): gradio sends nothing
    // for an unchanged value, so a retry clears the box first ("" restores nothing)
    if (box.value === token) send(box, "");
    send(box, token);
  }
  setInterval(function () {
    var box = document.querySelector("#pqa-conversation textarea, #pqa-conversation input");
    if (!box) return;
    try {
      if (!restored) {
        restored = true;
        last = window.sessionStorage.getItem(KEY) || "";
        if (last) typeToken(box, last);
        return;
      }
      if (last && box.value === last && tries < RETRIES &&
          !document.querySelector("#pqa-chat .message-row")) {
        tries += 1;
        if (tries % 4 === 0) typeToken(box, last);
        return;
      }
      if (box.value !== last) {
        last = box.value;
        tries = RETRIES;
        if (last) window.sessionStorage.setItem(KEY, last);
        else window.sessionStorage.removeItem(KEY);
      }
    } catch (err) { /* storage refused (privacy mode): the chat works, unkept */ }
  }, 150);
})();
