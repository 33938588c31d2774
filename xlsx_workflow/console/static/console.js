// 考核办公室控制台: forms that start background jobs, the drop zone, live progress.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function showIssues(list, issues) {
    list.replaceChildren();
    for (const i of issues || []) {
      const li = el("li", "", i.severity === "错误" ? "sev-error" : (i.severity === "警告" ? "sev-warning" : "sev-info"));
      li.dataset.code = i.code;
      li.append(el("b", i.severity + " "), (i.where ? i.where + "：" : "") + i.message + " ", el("span", i.code, "code"));
      list.append(li);
    }
  }

  function watch(jobId) {
    const box = document.getElementById("job");
    if (!box) return;
    box.hidden = false;
    const bar = document.getElementById("job-progress");
    const text = document.getElementById("job-text");
    async function tick() {
      const r = await fetch("/jobs/" + jobId, { headers: { Accept: "application/json" } });
      const job = await r.json();
      document.getElementById("job-title").textContent = job.title + (job.state === "running" ? "……" : "");
      if (job.total) { bar.max = job.total; bar.value = job.done; }
      text.textContent = job.total ? `已完成 ${job.done} / ${job.total}` : "准备中……";
      if (job.state === "running") { setTimeout(tick, 400); return; }
      bar.max = 1; bar.value = 1;
      text.textContent = job.state === "done" ? "已完成。" : "未能完成，原因见下。";
      box.dataset.state = job.state;
      const summary = document.getElementById("job-summary");
      summary.replaceChildren(...job.summary.map((s) => el("li", s)));
      showIssues(document.getElementById("job-issues"), job.issues);
      if (job.rows && job.rows.length) {
        const table = document.getElementById("job-rows");
        table.hidden = false;
        const body = table.querySelector("tbody");
        body.replaceChildren();
        for (const f of job.rows) {
          const tr = el("tr", "", f.errors ? "bad" : (f.warnings ? "warn" : ""));
          for (const v of [f.name, f.unit, f.status, f.late ? "逾期" : "", f.errors || "", f.warnings || "", f.first])
            tr.append(el("td", String(v)));
          body.append(tr);
        }
      }
      if (job.link) {
        const a = document.getElementById("job-link");
        a.href = job.link; a.textContent = job.link_label; a.hidden = false;
      }
    }
    tick();
  }

  async function post(url, data) {
    const r = await fetch(url, { method: "POST", body: data,
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
    let doc = {};
    try { doc = await r.json(); } catch (e) { doc = { ok: false, errors: [{ code: "", severity: "错误", message: "服务器没有返回结果（" + r.status + "）", where: "" }] }; }
    if (!r.ok || !doc.ok) {
      const box = document.getElementById("job");
      box.hidden = false;
      box.dataset.state = "refused";
      document.getElementById("job-title").textContent = "未能开始";
      document.getElementById("job-text").textContent = "";
      showIssues(document.getElementById("job-issues"), doc.errors);
      return null;
    }
    return doc;
  }

  for (const form of document.querySelectorAll("form[data-job]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      const doc = await post(form.action, new FormData(form));
      const pw = form.querySelector("input[type=password]");
      if (pw) pw.value = "";
      if (button) button.disabled = false;
      if (doc) watch(doc.job);
    });
  }

  const running = document.querySelector("#job[data-running]");
  if (running) watch(running.dataset.running);

  // --- 收件导入: drop zone, file and folder pickers, one upload ---------------------------
  const drop = document.getElementById("drop");
  if (!drop) return;
  const queue = [];   // [{file, path}]
  const list = document.getElementById("queue");
  const upload = document.getElementById("upload");

  function add(file, path) {
    queue.push({ file, path: path || file.webkitRelativePath || file.name });
    list.replaceChildren(...queue.map((q) => el("li", q.path + "（" + Math.max(1, Math.round(q.file.size / 1024)) + " KB）")));
    upload.disabled = queue.length === 0;
  }

  function walk(entry, prefix) {
    return new Promise((resolve) => {
      if (entry.isFile) {
        entry.file((f) => { add(f, prefix + f.name); resolve(); }, () => resolve());
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        const all = [];
        const more = () => reader.readEntries(async (entries) => {
          if (!entries.length) {
            for (const e of all) await walk(e, prefix + entry.name + "/");
            resolve();
          } else { all.push(...entries); more(); }
        }, () => resolve());
        more();
      } else resolve();
    });
  }

  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const items = [...(ev.dataTransfer.items || [])];
    const entries = items.map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (entries.length) { for (const e of entries) await walk(e, ""); }
    else for (const f of ev.dataTransfer.files) add(f);
  });
  for (const id of ["files", "folder"]) {
    document.getElementById(id).addEventListener("change", (ev) => {
      for (const f of ev.target.files) add(f);
      ev.target.value = "";
    });
  }
  document.getElementById("clear").addEventListener("click", () => {
    queue.length = 0; list.replaceChildren(); upload.disabled = true;
  });
  upload.addEventListener("click", async () => {
    const data = new FormData();
    for (const q of queue) { data.append("files", q.file, q.path); data.append("mtime", String(q.file.lastModified)); }
    upload.disabled = true;
    const doc = await post(upload.dataset.url, data);
    if (doc) { queue.length = 0; list.replaceChildren(); watch(doc.job); }
    else upload.disabled = false;
  });
})();
