/*
 * ReviewPulse chat widget: a shop embeds it with one tag, served by ReviewPulse itself (no CDN):
 *
 *   <script src="https://reviews.shop.example/widget.js" data-rasa-url="https://chat.shop.example"
 *           data-product-id="DRS-101" defer></script>
 *
 * data-rasa-url (required): the Rasa server, which must allow the page's origin (`rasa run --cors`).
 * data-product-id: the product of the page; sent with every message as metadata ({"product_id": ...}), so
 *   its questions ("does the dress run small?") are answered for it. data-title: the panel heading;
 *   data-currency: an ISO 4217 code (EUR) for the prices on suggestion cards.
 *
 * It talks to Rasa's REST channel (POST /webhooks/rest/webhook) as one customer per browser (a random
 * sender id kept in localStorage), renders Rasa buttons as quick replies and the assistant's custom
 * payloads (`product_suggestions` as cards, `review_answer` with its review quote), shows a typing
 * indicator, says so when the assistant cannot be reached, and offers a person (`/human_handoff`).
 * The widget lives in a shadow root, so the shop's CSS and its own do not mix; --rp-accent on
 * #reviewpulse-chat sets its colour.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const rasaUrl = ((script && script.dataset.rasaUrl) || "").replace(/\/+$/, "");
  if (!rasaUrl) {
    console.error("ReviewPulse chat widget: the script tag needs data-rasa-url");
    return;
  }
  const productId = (script.dataset.productId || "").trim();
  const currency = (script.dataset.currency || "").trim();
  const title = script.dataset.title || "Questions? Ask us";
  const TIMEOUT_MS = 30000;
  const UNREACHABLE =
    "Sorry, the assistant can't be reached right now. Please try again in a few minutes.";

  /** The customer's id for Rasa: random, kept across the shop's pages while storage allows. */
  function senderId() {
    const key = "reviewpulse-chat-sender";
    let id = null;
    try {
      id = window.localStorage.getItem(key);
    } catch (e) {
      /* storage blocked: a new conversation per page */
    }
    if (!id) {
      const bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try {
        window.localStorage.setItem(key, id);
      } catch (e) {
        /* ignored: see above */
      }
    }
    return id;
  }

  /** An element with attributes and children (strings become text nodes: nothing is parsed as HTML). */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value != null) node.setAttribute(name, value);
    });
    (children || []).forEach((child) => {
      if (child != null) node.append(child);
    });
    return node;
  }

  const host = el("div", { id: "reviewpulse-chat", hidden: true });
  const root = host.attachShadow({ mode: "open" });
  const css = el("link", { rel: "stylesheet", href: new URL("widget.css", script.src).href });
  css.addEventListener("load", () => host.removeAttribute("hidden"));
  css.addEventListener("error", () => host.removeAttribute("hidden"));

  const launcher = el("button", {
    type: "button", class: "rp-launcher", "aria-expanded": "false", "aria-controls": "rp-panel",
  }, ["Chat with us"]);
  const closer = el("button", { type: "button", class: "rp-close", "aria-label": "Close the chat" }, ["\u00d7"]);
  const log = el("ol", { class: "rp-log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
  const typing = el("p", { class: "rp-typing", hidden: true }, [
    el("span", { class: "rp-dots", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]),
    "The assistant is typing\u2026",
  ]);
  const input = el("input", {
    id: "rp-input", type: "text", autocomplete: "off", maxlength: "1000", required: true,
    placeholder: "Ask about sizes, delivery, returns\u2026",
  });
  const send = el("button", { type: "submit", class: "rp-send" }, ["Send"]);
  const form = el("form", { class: "rp-form" }, [
    el("label", { for: "rp-input", class: "rp-sr" }, ["Your message"]), input, send,
  ]);
  const human = el("button", { type: "button", class: "rp-human" }, ["Talk to a person"]);
  const panel = el("section", { id: "rp-panel", class: "rp-panel", "aria-labelledby": "rp-title", hidden: true }, [
    el("header", { class: "rp-head" }, [el("h2", { id: "rp-title" }, [title]), closer]),
    log, typing, form, human,
  ]);
  root.append(css, el("div", { class: "rp" }, [launcher, panel]));

  const sender = senderId();
  let greeted = false;
  let queue = Promise.resolve();

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "Close chat" : "Chat with us";
    if (open) {
      input.focus();
      if (!greeted) {
        greeted = true;
        say("/greet", null);
      }
    } else {
      launcher.focus();
    }
  }

  /** Append one item to the conversation and keep it in view. */
  function addItem(who, children, extraClass) {
    const label = el("span", { class: "rp-sr" }, [who === "user" ? "You: " : who === "bot" ? "Assistant: " : ""]);
    const item = el("li", { class: "rp-msg rp-" + who + (extraClass ? " " + extraClass : "") }, [label, ...children]);
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function price(value) {
    if (value == null) return null;
    if (currency) {
      try {
        return new Intl.NumberFormat(document.documentElement.lang || undefined, {
          style: "currency", currency: currency,
        }).format(value);
      } catch (e) {
        /* an unknown currency code: the bare number below */
      }
    }
    return Number(value).toFixed(2);
  }

  function suggestionCards(custom) {
    const cards = (custom.items || []).map((item) => el("li", { class: "rp-card" }, [
      el("h3", { class: "rp-card-name" }, [item.name]),
      item.price != null ? el("p", { class: "rp-card-price" }, [price(item.price)]) : null,
      el("p", { class: "rp-card-reason" }, [(item.reasons || []).join("; ")]),
      el("p", { class: "rp-card-code" }, ["Product code " + item.product_id]),
    ]));
    addItem("bot", [el("p", {}, [custom.intro || ""]), el("ul", { class: "rp-cards" }, cards)]);
  }

  /** An answer from the reviews: its text, with the quote it rests on set apart as a blockquote. */
  function reviewAnswer(custom) {
    const quote = (custom.quote && custom.quote.text) || "";
    const text = custom.text || "";
    const at = quote ? text.lastIndexOf("\u201c" + quote + "\u201d") : -1;
    const parts = [el("p", {}, [at >= 0 ? text.slice(0, at).trim() : text])];
    if (quote) {
      const source = "From a customer review" + (custom.quote.sentiment ? " (" + custom.quote.sentiment + ")" : "");
      parts.push(el("blockquote", { class: "rp-quote" }, [el("p", {}, [quote]), el("footer", {}, [source])]));
      if (at >= 0) {
        const rest = text.slice(at + quote.length + 2).trim();
        if (rest) parts.push(el("p", {}, [rest]));
      }
    }
    addItem("bot", parts);
  }

  function quickReplies(item, buttons) {
    const group = el("div", { class: "rp-replies", role: "group", "aria-label": "Quick replies" });
    buttons.forEach((button) => {
      const reply = el("button", { type: "button", class: "rp-reply" }, [button.title]);
      reply.addEventListener("click", () => {
        group.remove();
        say(button.payload, button.title);
        input.focus();
      });
      group.append(reply);
    });
    item.append(group);
  }

  const CUSTOM = { product_suggestions: suggestionCards, review_answer: reviewAnswer };

  /** Render Rasa's reply. A custom payload the widget knows replaces its plain-text twin (the same
   *  utterance's text, sent just before it for channels that show text only). */
  function render(messages) {
    messages.forEach((message, i) => {
      const next = messages[i + 1];
      const custom = message.custom;
      if (custom && CUSTOM[custom.type]) {
        CUSTOM[custom.type](custom);
        return;
      }
      if (!message.text) return;
      if (next && next.custom && CUSTOM[next.custom.type] && next.custom.text === message.text) return;
      const item = addItem("bot", [el("p", {}, [message.text])]);
      if (message.buttons && message.buttons.length) quickReplies(item, message.buttons);
    });
  }

  async function post(message) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const body = { sender: sender, message: message };
      if (productId) body.metadata = { product_id: productId };
      const response = await fetch(rasaUrl + "/webhooks/rest/webhook", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error("Rasa answered HTTP " + response.status);
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send one message (shown as `shown`, or not at all when null), in order, and render the reply. */
  function say(message, shown) {
    if (shown) addItem("user", [el("p", {}, [shown])]);
    queue = queue.then(async () => {
      typing.hidden = false;
      send.disabled = true;
      try {
        render(await post(message));
      } catch (error) {
        console.warn("ReviewPulse chat widget:", error);
        const retry = el("button", { type: "button", class: "rp-reply" }, ["Try again"]);
        const item = addItem("error", [el("p", {}, [UNREACHABLE]), retry]);
        retry.addEventListener("click", () => {
          item.remove();
          say(message, null);
          input.focus();
        });
      } finally {
        typing.hidden = true;
        send.disabled = false;
      }
    });
  }

  launcher.addEventListener("click", () => setOpen(panel.hidden));
  closer.addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setOpen(false);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text, text);
  });
  human.addEventListener("click", () => {
    say("/human_handoff", "Talk to a person");
    input.focus();
  });

  document.body.append(host);
})();
