"""The chat page's <head>: its CSS and its script (ui/web/static/chat.js, inlined: the
Content-Security-Policy allows inline scripts but not gradio's eval'd `js=` handlers).

The CSS is in <head> as is, because gradio would re-scope rules given as `css=`."""

from __future__ import annotations

from pathlib import Path

SCRIPT = (Path(__file__).resolve().parent.parent / "static" / "chat.js").read_text(
    encoding="utf-8")

WIDGET_CSS = """
.gradio-container { max-width: 760px !important; margin: 0 auto !important; }
#pqa-chat { overflow-wrap: anywhere; }
/* gradio's bubbles say break-word, which still sizes a bubble to its longest word: a
   pasted URL widened the frame past its 400px */
#pqa-chat .message-row, #pqa-chat .message, #pqa-chat .message * {
  overflow-wrap: anywhere !important; min-width: 0; }
#pqa-chat .pqa-answer p { margin: 0 0 .5em 0; }
#pqa-chat blockquote.pqa-quote {
  margin: .4em 0 .8em 0; padding: .2em 0 .2em .8em;
  border-left: 3px solid var(--color-accent, #2563eb);
}
#pqa-chat .pqa-source { font-size: .92em; margin-top: .25em; }
#pqa-chat .pqa-ref { font-family: var(--font-mono, monospace); }
#pqa-ask textarea, #pqa-email input { font-size: 16px; }  /* no zoom-on-focus on iOS */
/* a visible focus ring on every field (gradio draws none; the offers' fields are moved
   into the conversation by chat.js), lighter on the dark theme: 6.7:1 on white, 8:1 on
   gradio's dark fields; and placeholders at 4.8:1 */
:root .gradio-container textarea:focus, :root .gradio-container input:focus,
:root .gradio-container select:focus {  /* :root outranks gradio's input[type].svelte-… */
  outline: 3px solid #1d4ed8 !important; outline-offset: 1px; }
:root .dark .gradio-container textarea:focus, :root .dark .gradio-container input:focus,
:root .dark .gradio-container select:focus { outline-color: #93c5fd !important; }
#pqa-ask textarea::placeholder, .pqa-offer input::placeholder { color: #6b7280; opacity: 1; }
@media (max-width: 480px) {
  .main.fillable { padding: 8px !important; }
  #pqa-chat { height: calc(100dvh - 265px) !important; min-height: 260px; }
}
#pqa-title h1 { font-size: 1.25rem !important; line-height: 1.3 !important;
  margin: 0 0 .25em 0 !important; }
.pqa-framed #pqa-title { display: none; }  /* widget.js shows its own title bar */
/* the title bar hidden, the rest fills the frame exactly: no scrolling of the page itself */
.pqa-framed #pqa-chat { height: calc(100dvh - 130px) !important; min-height: 260px; }
@media (max-height: 480px) {  /* a short frame: the question field stays in view */
  .pqa-framed #pqa-chat { min-height: 60px; }
  .pqa-framed .main.fillable { padding-top: 4px !important; padding-bottom: 4px !important; }
}
footer { display: none !important; }
#pqa-chat .pqa-typing { color: var(--body-text-color-subdued, #4b5563); }
#pqa-chat .pqa-dots { display: inline-flex; gap: 3px; margin-right: .4em; vertical-align: middle; }
#pqa-chat .pqa-dots span { width: 6px; height: 6px; border-radius: 50%; background: currentColor;
  animation: pqa-blink 1.2s infinite ease-in-out; }
#pqa-chat .pqa-dots span:nth-child(2) { animation-delay: .2s; }
#pqa-chat .pqa-dots span:nth-child(3) { animation-delay: .4s; }
@keyframes pqa-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { #pqa-chat .pqa-dots span { animation: none; } }
/* gradio's own progress timer ("processing | 0.1s") and the unlabelled trash icon:
   the typing indicator and "New conversation" replace them */
#pqa-chat .progress-text, #pqa-chat .eta-bar, #pqa-chat .timer,
#pqa-chat button[aria-label="Clear"], #pqa-chat button[title="Clear"] { display: none !important; }
#pqa-tools { justify-content: flex-end; }
#pqa-wait { margin: .25em .5em 0; color: var(--body-text-color-subdued, #4b5563); }
#pqa-wait:empty { display: none; }
/* an offer, moved by chat.js into the conversation after the message that offers it:
   drawn as a continuation of the assistant's bubble */
#pqa-chat .pqa-in-chat { margin: -.25em 12% .75em 20px; padding: .6em .75em; gap: .5em;
  border: 1px solid var(--border-color-primary, #d1d5db); border-radius: 0 0 12px 12px;
  background: var(--background-fill-secondary, #f9fafb); }
#pqa-chat .pqa-in-chat .block { box-shadow: none; }
/* gradio's primary orange with white text is 2.8:1; this blue is 6.7:1 (WCAG AA) */
.gradio-container button.primary { background: #1d4ed8 !important; border-color: #1d4ed8 !important;
  color: #fff !important; }
.gradio-container button.primary:hover { background: #1e40af !important; }
/* Windows' high-contrast themes drop backgrounds: buttons keep an edge */
@media (forced-colors: active) {
  .gradio-container button { border: 1px solid ButtonText !important; } }
"""

CHAT_HEAD = f"<style>{WIDGET_CSS}</style>\n<script>{SCRIPT}</script>"
