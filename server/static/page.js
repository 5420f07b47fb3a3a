// ocrfarm's page: send several files, follow each job, and show a result with its boxes drawn
// over the page. Everything that comes from a file or a result is put into the page as text
// (textContent, text nodes, attributes): never as markup.
//
// The API it speaks: POST /v1/jobs (multipart field "file", and "model" when the farm has loaded
// several model sets and the page offers them in #model) answers 202 with the job's id and URL;
// GET <url> answers the job, with "lines" and "image" when done (or "pages" for a document of
// several pages, and "progress" while running); GET <url>/pages/<n> is page n as an image.
"use strict";

(() => {
  const TOKEN_KEY = "ocrfarm.token";
  const MAX_UPLOADS = 3; // files sent at once; the others wait their turn
  const POLL_FIRST_MS = 500; // first look at a job, and again after every change
  const POLL_MAX_MS = 3000; // the wait between looks grows to this while nothing changes
  const NETWORK_TRIES = 6; // unanswered requests in a row before a job is given up

  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** An element with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    return node;
  }

  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function stem(name) {
    const dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name) || "result";
  }

  /** Seconds from a Retry-After header (a number or an HTTP date); 5 when absent or odd. */
  function retryAfterSeconds(header) {
    if (header && /^\s*\d+\s*$/.test(header)) return Math.min(120, Math.max(1, Number(header)));
    const when = header ? Date.parse(header) : NaN;
    if (!Number.isNaN(when)) return Math.min(120, Math.max(1, Math.ceil((when - Date.now()) / 1000)));
    return 5;
  }

  /** The farm's error, from its JSON shape {"error": {"code", "message"}}, or one made from the status. */
  function errorOf(body, status) {
    if (body && body.error && typeof body.error.message === "string") return body.error;
    return { code: `http_${status}`, message: `the farm answered HTTP ${status}` };
  }

  // ---- the API token ---------------------------------------------------------------------------

  const auth = {
    asking: null,

    memory: "", // the token, when session storage is unavailable

    token() {
      let stored = "";
      try {
        stored = sessionStorage.getItem(TOKEN_KEY) || "";
      } catch {
        stored = "";
      }
      return stored || this.memory;
    },

    headers() {
      const token = this.token();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },

    /** A 401 in the farm's error shape: the token is missing or wrong. */
    refused(status, body) {
      return status === 401 && !!body && !!body.error && typeof body.error.code === "string";
    },

    /** After a 401 for a request sent with `sentToken`: true when there is a token to try (again). */
    async recover(sentToken) {
      const now = this.token();
      if (now && now !== sentToken) return true; // someone entered a new one meanwhile
      return this.ask(Boolean(sentToken));
    },

    /** Ask once, however many requests are waiting; resolves true when a token was given. */
    ask(wasRefused) {
      if (this.asking) return this.asking;
      this.asking = new Promise((resolve) => {
        const dialog = $("token-dialog");
        const input = $("token-input");
        $("token-message").textContent = wasRefused
          ? "The farm refused that token. Enter the right one to go on."
          : "This farm needs an API token to accept files.";
        input.value = "";
        dialog.returnValue = "";
        dialog.addEventListener("close", () => {
          this.asking = null;
          const token = input.value.trim();
          if (dialog.returnValue === "ok" && token) {
            try {
              sessionStorage.setItem(TOKEN_KEY, token);
            } catch {
              this.memory = token; // storage refused: keep it for this page's life
            }
            resolve(true);
          } else {
            resolve(false);
          }
        }, { once: true });
        dialog.showModal();
        input.focus();
      });
      return this.asking;
    },
  };

  // ---- talking to the farm ---------------------------------------------------------------------

  /** POST the file to /v1/jobs with upload progress (fetch has none, so XMLHttpRequest).
   * onOpen gets the request, so that an upload can be stopped while its body is still going out. */
  function sendFile(file, model, onProgress, onOpen) {
    return new Promise((resolve) => {
      const token = auth.token();
      const xhr = new XMLHttpRequest();
      onOpen(xhr);
      xhr.open("POST", "/v1/jobs");
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        resolve({ status: xhr.status, body, retryAfter: xhr.getResponseHeader("Retry-After"), token });
      });
      xhr.addEventListener("error", () => resolve({ status: 0, body: null, token }));
      xhr.addEventListener("abort", () => resolve({ status: 0, body: null, token }));
      const form = new FormData();
      form.append("file", file, file.name);
      if (model) form.append("model", model);
      xhr.send(form);
    });
  }

  /** GET (or another method) with the token; {status, body} where body is parsed JSON (or null);
   * status 0 if unreachable. */
  async function getJson(url, method = "GET") {
    const token = auth.token();
    try {
      const response = await fetch(url, { method, headers: { ...auth.headers(), Accept: "application/json" }, cache: "no-store" });
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      return { status: response.status, body, token };
    } catch {
      return { status: 0, body: null, token };
    }
  }

  // ---- one file and its job --------------------------------------------------------------------

  const jobs = [];
  const waiting = [];
  let uploading = 0;

  class Job {
    constructor(file) {
      this.file = file;
      this.name = file.name || "unnamed file";
      // The model set picked when the file was added (none offered: the farm's default).
      this.model = $("model") ? $("model").value : null;
      this.status = "waiting";
      this.record = null; // the job's final record once done
      this.localUrl = null; // object URL of the file itself, for drawing single images
      this.pageUrls = new Map(); // page number -> object URL of the farm's rendering

      this.cancelling = false; // the person asked to cancel; acted on where the job now is
      this.xhr = null; // the upload under way, if any
      this.sent = false; // the whole file has gone out: from then on only the farm can cancel it

      this.nameEl = el("span", { class: "job-name", text: this.name });
      this.stateEl = el("div", { class: "job-state" });
      this.bar = el("progress", { max: 1 });
      this.action = el("button", { type: "button", class: "job-action" });
      this.action.addEventListener("click", (event) => {
        event.stopPropagation(); // not a click on the card, which opens the result
        this.act();
      });
      this.action.addEventListener("keydown", (event) => event.stopPropagation());
      this.card = el("li", { class: "job", tabindex: 0, title: this.name },
        el("div", { class: "job-top" }, this.nameEl,
          el("span", { class: "job-size", text: formatBytes(file.size) }), this.action),
        this.stateEl, this.bar);
      this.card.addEventListener("click", () => this.open());
      this.card.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.open();
        }
      });
      this.show("waiting", "Waiting to upload");
    }

    /** Put the job's state on its card: data-status for styles (and tests), words for people. */
    show(status, words, fraction) {
      this.status = status;
      this.card.dataset.status = status;
      this.stateEl.textContent = words;
      if (typeof fraction === "number") this.bar.value = Math.max(0, Math.min(1, fraction));
      else this.bar.removeAttribute("value"); // an indeterminate bar
      // Cancel until a worker takes the job (the farm cannot stop a running one); remove once it ended.
      const verb = this.ended() ? "Remove" : status === "running" ? null : "Cancel";
      this.action.hidden = verb === null || (verb === "Cancel" && this.cancelling);
      if (verb) {
        this.action.textContent = verb;
        this.action.setAttribute("aria-label", `${verb} ${this.name}`);
      }
    }

    ended() {
      return ["done", "failed", "cancelled"].includes(this.status);
    }

    /** The card's button: cancel the job wherever it is, or take an ended job off the list. */
    async act() {
      if (this.ended()) {
        remove(this);
        return;
      }
      this.cancelling = true;
      this.show(this.status, "Cancelling");
      const queueSpot = waiting.indexOf(this);
      if (queueSpot >= 0) {
        waiting.splice(queueSpot, 1); // never sent
        this.show("cancelled", "Cancelled");
      } else if (this.xhr && !this.sent) {
        this.xhr.abort(); // submit() sees the abort and ends the job here
      } else if (this.id) {
        await this.cancelOnFarm();
      }
      // Otherwise the upload has gone out and its answer is on the way: submit() cancels on arrival,
      // and a countdown to the next try ends at its next tick.
    }

    /** DELETE the job: the farm cancels it unless a worker has taken it already. */
    async cancelOnFarm() {
      const answer = await getJson(this.url, "DELETE");
      if (answer.status === 200 || (answer.body && answer.body.error && answer.body.error.code === "cancelled")) {
        this.show("cancelled", "Cancelled");
        return;
      }
      this.cancelling = false;
      if (!this.ended()) {
        const why = errorOf(answer.body, answer.status).message;
        this.show(this.status, `Could not cancel: ${why}`);
      }
    }

    fail(error) {
      const reason = (error && error.message) || "failed";
      this.error = error;
      this.card.dataset.error = (error && error.code) || "failed";
      this.show("failed", `Failed: ${reason}`);
    }

    async countdown(seconds, why) {
      for (let left = Math.ceil(seconds); left > 0 && !this.cancelling; left--) {
        this.show(this.status, `${why}; trying again in ${left} s`);
        await sleep(1000);
      }
    }

    /** Upload until the farm accepts the file (true) or refuses it for good (false). */
    async submit() {
      let unanswered = 0;
      for (;;) {
        if (this.cancelling) {
          this.show("cancelled", "Cancelled");
          return false;
        }
        this.show("uploading", "Uploading", 0);
        this.sent = false;
        const answer = await sendFile(this.file, this.model,
          (part) => { if (!this.cancelling) this.show("uploading", `Uploading ${Math.round(part * 100)} %`, part); },
          (xhr) => {
            this.xhr = xhr;
            xhr.upload.addEventListener("load", () => { this.sent = true; });
          });
        this.xhr = null;
        const { status, body } = answer;
        if ((status === 200 || status === 202) && body && body.id) {
          this.id = body.id;
          this.url = body.url || `/v1/jobs/${encodeURIComponent(body.id)}`;
          this.card.dataset.job = body.id;
          if (this.cancelling) {
            await this.cancelOnFarm();
            if (this.status === "cancelled") return false;
          }
          this.apply(body);
          return true;
        }
        if (this.cancelling) continue; // an aborted upload, or one the farm refused anyway
        if (auth.refused(status, body)) {
          this.show("waiting", "Waiting for the API token");
          if (await auth.recover(answer.token)) continue;
          this.fail({ code: "unauthorized", message: "the farm needs an API token" });
          return false;
        }
        if (status === 503) {
          this.show("waiting", "The farm is busy");
          await this.countdown(retryAfterSeconds(answer.retryAfter), `The farm is busy (${errorOf(body, status).message})`);
          continue;
        }
        if (status === 0 || status === 502 || status === 504) {
          if (++unanswered >= NETWORK_TRIES) {
            this.fail({ code: "unreachable", message: "the farm did not answer" });
            return false;
          }
          this.show("waiting", "The farm did not answer");
          await this.countdown(2 ** unanswered, "The farm did not answer");
          continue;
        }
        this.fail(errorOf(body, status));
        return false;
      }
    }

    /** Look at the job until it is done or failed, often at first and after a change, then less. */
    async follow() {
      let delay = POLL_FIRST_MS;
      let unanswered = 0;
      let last = "";
      while (!this.ended()) {
        await sleep(delay);
        const answer = await getJson(this.url);
        // 202 while the job waits or runs, 200 when done, 422 (with the job and its error) when failed.
        if (answer.body && answer.body.id && ["queued", "running", "done", "failed"].includes(answer.body.status)) {
          unanswered = 0;
          this.apply(answer.body);
          const seen = JSON.stringify([answer.body.status, answer.body.progress || null]);
          delay = seen === last ? Math.min(POLL_MAX_MS, delay * 1.5) : POLL_FIRST_MS;
          last = seen;
        } else if (auth.refused(answer.status, answer.body)) {
          if (!(await auth.recover(answer.token))) {
            this.fail({ code: "unauthorized", message: "the farm needs an API token to show this job" });
          }
        } else if (answer.status === 0 || answer.status >= 500) {
          if (++unanswered >= NETWORK_TRIES * 3) {
            this.fail({ code: "unreachable", message: "lost touch with the farm while the job ran" });
          }
          delay = Math.min(POLL_MAX_MS * 2, delay * 2);
        } else {
          this.fail(errorOf(answer.body, answer.status));
        }
      }
    }

    /** What a GET (or the POST's answer) said about the job. */
    apply(body) {
      if (this.ended()) return; // an answer overtaken by a cancel (or by a later answer)
      switch (body.status) {
        case "queued":
          this.show("queued", "Queued");
          break;
        case "running": {
          const progress = body.progress;
          if (progress && progress.pages_total > 1) {
            this.show("running", `Running: ${progress.pages_done} of ${plural(progress.pages_total, "page", "pages")} done`,
              progress.pages_done / progress.pages_total);
          } else {
            this.show("running", "Running");
          }
          break;
        }
        case "done": {
          this.record = body;
          const pages = pagesOf(body);
          const lines = pages.reduce((sum, page) => sum + page.lines.length, 0);
          const seconds = body.timings && typeof body.timings.total_s === "number" ? `, ${body.timings.total_s.toFixed(1)} s` : "";
          const pageWords = pages.length > 1 ? `, ${plural(pages.length, "page", "pages")}` : "";
          this.show("done", `Done: ${plural(lines, "line", "lines")}${pageWords}${seconds}`, 1);
          if (!viewer.job) this.open();
          break;
        }
        case "failed":
          if (body.error && body.error.code === "cancelled") this.show("cancelled", "Cancelled");
          else this.fail(body.error);
          break;
        default:
          break;
      }
    }

    open() {
      if (this.status === "done") viewer.open(this);
    }

    /** Where the picture of a page may come from, best first: the file itself for a single image
     * (no second download), then the farm's rendering of the page (PDF pages, TIFF frames, and
     * pictures this browser cannot show). */
    pictureSources(page, pageCount) {
      const sources = [];
      if (pageCount === 1 && (this.file.type || "").startsWith("image/")) {
        if (!this.localUrl) this.localUrl = URL.createObjectURL(this.file);
        sources.push(["file", async () => this.localUrl]);
      }
      sources.push(["farm", () => this.farmPicture(page.number)]);
      return sources;
    }

    /** The farm's rendering of page n (needs the token, so fetched rather than put in src). */
    async farmPicture(number) {
      if (this.pageUrls.has(number)) return this.pageUrls.get(number);
      for (let tries = 0; tries < 3; tries++) {
        const token = auth.token();
        const response = await fetch(`${this.url}/pages/${number}`, { headers: auth.headers(), cache: "no-store" });
        if (response.ok) {
          const url = URL.createObjectURL(await response.blob());
          this.pageUrls.set(number, url);
          return url;
        }
        let body = null;
        try {
          body = await response.json();
        } catch {
          body = null;
        }
        if (auth.refused(response.status, body) && (await auth.recover(token))) continue;
        throw new Error(`page ${number}: HTTP ${response.status}`);
      }
      throw new Error(`page ${number}: no token`);
    }
  }

  /** The pages of a result: "pages" when the farm sent them, else the whole job as one page. */
  function pagesOf(record) {
    const asLines = (lines) => (Array.isArray(lines) ? lines.filter((line) => line && Array.isArray(line.box)) : []);
    if (Array.isArray(record.pages) && record.pages.length > 0) {
      return record.pages.map((page, i) => ({
        number: Number.isInteger(page.page) ? page.page : i + 1,
        width: page.width,
        height: page.height,
        lines: asLines(page.lines),
      }));
    }
    const image = record.image || {};
    return [{ number: 1, width: image.width, height: image.height, lines: asLines(record.lines) }];
  }

  // ---- adding and removing files ---------------------------------------------------------------

  function add(files) {
    for (const file of files) {
      const job = new Job(file);
      jobs.push(job);
      waiting.push(job);
      $("jobs").append(job.card);
    }
    $("no-jobs").hidden = jobs.length > 0;
    pump();
  }

  /** Take an ended job off the list (its result stays on the farm), and out of the viewer. */
  function remove(job) {
    jobs.splice(jobs.indexOf(job), 1);
    job.card.remove();
    if (viewer.job === job) viewer.close();
    for (const url of [job.localUrl, ...job.pageUrls.values()]) if (url) URL.revokeObjectURL(url);
    $("no-jobs").hidden = jobs.length > 0;
  }

  function pump() {
    while (uploading < MAX_UPLOADS && waiting.length > 0) {
      const job = waiting.shift();
      uploading++;
      job.submit()
        .then((accepted) => {
          uploading--;
          pump();
          if (accepted) return job.follow();
          return undefined;
        })
        .catch((error) => {
          job.fail({ code: "page_error", message: String(error && error.message ? error.message : error) });
        });
    }
  }

  // ---- the result viewer -----------------------------------------------------------------------

  const viewer = {
    job: null,
    pages: [],
    index: 0,
    picked: null,
    drawing: 0, // bumped on each draw, so a late picture of an earlier page is dropped
    downloads: [],

    close() {
      this.drawing++; // a picture still loading is not shown
      this.job = null;
      $("viewer").hidden = true;
    },

    open(job) {
      if (this.job) this.job.card.classList.remove("selected");
      this.job = job;
      job.card.classList.add("selected");
      this.pages = pagesOf(job.record);
      this.index = 0;
      $("viewer").hidden = false;
      $("viewer-name").textContent = job.name;
      const record = job.record;
      const lines = this.pages.reduce((sum, page) => sum + page.lines.length, 0);
      const facts = [plural(lines, "line", "lines")];
      if (this.pages.length > 1) facts.push(plural(this.pages.length, "page", "pages"));
      if (this.pages.length === 1 && this.pages[0].width) facts.push(`${this.pages[0].width} × ${this.pages[0].height} px`);
      if (record.timings && typeof record.timings.total_s === "number") facts.push(`read in ${record.timings.total_s.toFixed(2)} s`);
      if (record.options && typeof record.options.model === "string") facts.push(`by ${record.options.model}`);
      $("viewer-summary").textContent = facts.join(" · ");
      this.offerDownloads(job);
      this.draw();
    },

    text() {
      const record = this.job.record;
      if (typeof record.text === "string") return record.text;
      return this.pages.map((page) => page.lines.map((line) => line.text).join("\n")).join("\n\f");
    },

    offerDownloads(job) {
      for (const url of this.downloads) URL.revokeObjectURL(url);
      const txt = URL.createObjectURL(new Blob([`${this.text()}\n`], { type: "text/plain;charset=utf-8" }));
      const json = URL.createObjectURL(new Blob([JSON.stringify(job.record, null, 2)], { type: "application/json" }));
      this.downloads = [txt, json];
      $("download-txt").href = txt;
      $("download-txt").setAttribute("download", `${stem(job.name)}.txt`);
      $("download-json").href = json;
      $("download-json").setAttribute("download", `${stem(job.name)}.json`);
    },

    /** The document with its text laid invisibly over it, made by the farm from this result; fetched
     * with the token (a plain link would not carry it) and handed to the browser as a download. */
    async downloadPdf() {
      const job = this.job;
      const button = $("download-pdf");
      button.disabled = true;
      button.textContent = "Making the PDF…";
      let label = "Download searchable PDF";
      try {
        const response = await fetch(`${job.record.url}?format=pdf`, { headers: auth.headers(), cache: "no-store" });
        if (response.ok) {
          const url = URL.createObjectURL(await response.blob());
          const link = el("a", { href: url, download: `${stem(job.name)}.pdf`, class: "offscreen" });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        } else {
          let reason = `the farm answered ${response.status}`;
          try {
            reason = (await response.json()).error.message;
          } catch {
            // not the farm's JSON error: the status says it
          }
          label = "PDF failed";
          button.title = reason;
        }
      } catch {
        label = "PDF failed";
        button.title = "the farm could not be reached";
      }
      button.disabled = false;
      button.textContent = label;
    },

    async copy() {
      const text = this.text();
      const button = $("copy-text");
      let copied = false;
      if (navigator.clipboard && window.isSecureContext) {
        try {
          await navigator.clipboard.writeText(text);
          copied = true;
        } catch {
          copied = false;
        }
      }
      if (!copied) {
        // Plain http on another machine is not a secure context: the old way still works there.
        const area = el("textarea", { readonly: true, class: "offscreen" });
        area.value = text;
        area.style.position = "fixed";
        area.style.left = "-9999px";
        document.body.append(area);
        area.select();
        try {
          copied = document.execCommand("copy");
        } catch {
          copied = false;
        }
        area.remove();
      }
      button.textContent = copied ? "Copied" : "Copy failed";
      clearTimeout(this.copyTimer);
      this.copyTimer = setTimeout(() => { button.textContent = "Copy text"; }, 1500);
    },

    turn(step) {
      const next = this.index + step;
      if (next < 0 || next >= this.pages.length) return;
      this.index = next;
      this.draw();
    },

    async draw() {
      const ticket = ++this.drawing;
      const job = this.job;
      const page = this.pages[this.index];
      this.picked = null;

      const pager = $("pager");
      pager.hidden = this.pages.length < 2;
      $("page-label").textContent = `Page ${this.index + 1} of ${this.pages.length}`;
      $("page-prev").disabled = this.index === 0;
      $("page-next").disabled = this.index >= this.pages.length - 1;

      this.drawLines(page);
      const sheet = $("sheet");
      const image = $("page-image");
      const note = $("sheet-note");
      note.hidden = true;
      image.hidden = true;
      image.removeAttribute("src");
      this.size(page.width, page.height);

      sheet.dataset.picture = "loading";
      for (const [origin, source] of job.pictureSources(page, this.pages.length)) {
        let url;
        try {
          url = await source();
        } catch {
          continue;
        }
        if (ticket !== this.drawing) return;
        const shown = await show(image, url);
        if (ticket !== this.drawing) return;
        // The boxes are in the pixels the farm read: a picture of another size is not that page.
        const fits = !page.width || (image.naturalWidth === page.width && image.naturalHeight === page.height);
        if (shown && fits) {
          image.hidden = false;
          if (!page.width || !page.height) this.size(image.naturalWidth, image.naturalHeight);
          sheet.dataset.picture = "shown";
          sheet.dataset.origin = origin; // the file itself, or the farm's rendering of the page
          return;
        }
      }
      if (ticket !== this.drawing) return;
      sheet.dataset.picture = "missing";
      delete sheet.dataset.origin;
      note.textContent = "This browser cannot show this picture; the boxes are drawn on a blank page.";
      note.hidden = false;
    },

    /** The sheet keeps the page's proportions, no wider than its column and no taller than the window. */
    size(width, height) {
      const w = Number(width) > 0 ? Number(width) : 1000;
      const h = Number(height) > 0 ? Number(height) : 1000;
      const sheet = $("sheet");
      sheet.style.aspectRatio = `${w} / ${h}`;
      sheet.style.width = `min(100%, calc(78vh * ${(w / h).toFixed(5)}))`;
      $("boxes").setAttribute("viewBox", `0 0 ${w} ${h}`);
    },

    drawLines(page) {
      const boxes = $("boxes");
      const list = $("lines");
      const polygons = [];
      const items = [];
      page.lines.forEach((line, i) => {
        const corners = line.box.map((corner) => (Array.isArray(corner) ? corner.map(Number) : [NaN, NaN]));
        const text = typeof line.text === "string" ? line.text : String(line.text ?? "");
        if (corners.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) {
          const polygon = svgEl("polygon", { class: "box", "data-line": i, points: corners.map(([x, y]) => `${x},${y}`).join(" ") });
          const title = svgEl("title");
          title.textContent = text;
          polygon.append(title);
          polygons.push(polygon);
        }
        const confidence = typeof line.confidence === "number" ? `${Math.round(line.confidence * 100)} %` : "";
        items.push(el("li", { class: "line", "data-line": i, tabindex: 0 },
          el("span", { class: "line-text", text }),
          el("span", { class: "line-confidence", text: confidence, title: "confidence" })));
      });
      boxes.replaceChildren(...polygons);
      list.replaceChildren(...items);
      $("sheet").dataset.boxes = String(polygons.length);
      $("line-count").textContent = `(${page.lines.length})`;
      $("no-lines").hidden = page.lines.length > 0;
    },

    /** Mark line i and its box: "hot" while pointed at, "picked" when clicked (until clicked again). */
    mark(kind, i) {
      for (const node of document.querySelectorAll(`#boxes .${kind}, #lines .${kind}`)) node.classList.remove(kind);
      if (i === null) return [];
      const found = [...document.querySelectorAll(`#boxes [data-line="${i}"], #lines [data-line="${i}"]`)];
      for (const node of found) node.classList.add(kind);
      return found;
    },

    pick(i, from) {
      this.picked = this.picked === i ? null : i;
      const found = this.mark("picked", this.picked);
      const other = found.find((node) => node.closest(from === "box" ? "#lines" : "#boxes"));
      if (other) other.scrollIntoView({ block: "nearest", behavior: "smooth" });
    },
  };

  /** Load url into img; true once it shows, false if the browser cannot decode it. */
  function show(image, url) {
    return new Promise((resolve) => {
      const done = (ok) => {
        image.removeEventListener("load", onLoad);
        image.removeEventListener("error", onError);
        resolve(ok);
      };
      const onLoad = () => done(image.naturalWidth > 0);
      const onError = () => done(false);
      image.addEventListener("load", onLoad);
      image.addEventListener("error", onError);
      image.src = url;
    });
  }

  function lineIndex(event) {
    const node = event.target.closest ? event.target.closest("[data-line]") : null;
    return node ? Number(node.dataset.line) : null;
  }

  // ---- wiring ----------------------------------------------------------------------------------

  function start() {
    const input = $("files");
    const form = $("upload");
    input.addEventListener("change", () => {
      add([...input.files]);
      input.value = ""; // so the same file can be picked again
    });
    form.addEventListener("submit", (event) => event.preventDefault());

    // Drops anywhere on the page land here, instead of the browser opening the file.
    let depth = 0;
    document.addEventListener("dragenter", (event) => {
      event.preventDefault();
      depth++;
      form.classList.add("dragging");
    });
    document.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) form.classList.remove("dragging");
    });
    document.addEventListener("dragover", (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      form.classList.remove("dragging");
      if (event.dataTransfer && event.dataTransfer.files.length > 0) add([...event.dataTransfer.files]);
    });

    $("copy-text").addEventListener("click", () => viewer.copy());
    $("download-pdf").addEventListener("click", () => viewer.downloadPdf());
    $("page-prev").addEventListener("click", () => viewer.turn(-1));
    $("page-next").addEventListener("click", () => viewer.turn(1));
    document.addEventListener("keydown", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!viewer.job || (target && target.closest("input, textarea, button, dialog"))) return;
      if (event.key === "ArrowLeft" || event.key === "PageUp") viewer.turn(-1);
      if (event.key === "ArrowRight" || event.key === "PageDown") viewer.turn(1);
    });

    // Lines and boxes answer each other: point at one and both light up; click to keep it lit.
    for (const area of [$("boxes"), $("lines")]) {
      const from = area.id === "boxes" ? "box" : "line";
      area.addEventListener("mouseover", (event) => viewer.mark("hot", lineIndex(event)));
      area.addEventListener("mouseleave", () => viewer.mark("hot", null));
      area.addEventListener("focusin", (event) => viewer.mark("hot", lineIndex(event)));
      area.addEventListener("focusout", () => viewer.mark("hot", null));
      area.addEventListener("click", (event) => {
        const i = lineIndex(event);
        if (i !== null) viewer.pick(i, from);
      });
      area.addEventListener("keydown", (event) => {
        const i = lineIndex(event);
        if (i !== null && (event.key === "Enter" || event.key === " ")) {
          event.preventDefault();
          viewer.pick(i, from);
        }
      });
    }
    document.body.dataset.ready = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
