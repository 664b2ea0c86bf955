// The collector app's service worker, shell version {{VERSION}}.
// The shell (page, scripts, styles, icons, manifest) comes from the cache first, so the app opens
// with no connection; the API is network only (the queue lives in IndexedDB, never in a cache).
// A change to any shell file changes the version above, so the browser installs this worker
// anew: it precaches the new files, takes over, and deletes the old versions' caches.

const VERSION = "{{VERSION}}";
const PRECACHE = {{PRECACHE}};
const CACHE = `kolekt-app-${VERSION}`;
const SHELL_PAGE = "/app/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // "reload": straight from the server, never a stale copy from the HTTP cache.
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => names.filter((name) => name.startsWith("kolekt-app-") && name !== CACHE))
      .then((old) => Promise.all(old.map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // network only
  if (request.mode === "navigate" && url.pathname === SHELL_PAGE) {
    event.respondWith(cacheFirst(SHELL_PAGE, request));
  } else if (PRECACHE.includes(url.pathname)) {
    event.respondWith(cacheFirst(url.pathname, request));
  }
});

async function cacheFirst(key, request) {
  const cached = await caches.match(key, { cacheName: CACHE });
  return cached ?? fetch(request);
}
