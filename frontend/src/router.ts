// Where the app is: the route in the URL's hash (#/search, #/queue...). Pages move with `go`;
// the shell (main.ts) listens with `onRouteChange` and draws the page. Nothing imports main.ts.
export function go(route: string): void {
  location.hash = `#/${route}`;
}

export function currentRoute(): string {
  return location.hash.replace(/^#\/?/, "").split("?")[0];
}

export function onRouteChange(show: () => void): void {
  window.addEventListener("hashchange", show);
}
