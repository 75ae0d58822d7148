/**
 * The browser tab while a prompt runs, as ComfyUI shows it: the overall progress in the title (`[37%] USO Studio`)
 * and a progress ring around the favicon, so a run can be followed from another tab.
 */

export const APP_TITLE = 'USO Studio';
/** The idle favicon (packages/editor/public/favicon.svg, served beside index.html). */
export const IDLE_FAVICON = 'favicon.svg';

/** The tab title: the app's name, prefixed with the rounded progress while a prompt runs (`progress` in 0..1). */
export function tabTitle(progress: number | null): string {
  return progress == null ? APP_TITLE : `[${percent(progress)}%] ${APP_TITLE}`;
}

/** The favicon's URL: the idle icon, or while running an SVG data URL whose ring fills with `progress`. */
export function faviconHref(progress: number | null): string {
  if (progress == null) return IDLE_FAVICON;
  const radius = 13;
  const circumference = 2 * Math.PI * radius;
  const filled = (circumference * percent(progress)) / 100;
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    + '<circle cx="16" cy="16" r="15" fill="#1c1c1c"/>'
    + `<circle cx="16" cy="16" r="${radius}" fill="none" stroke="#3a3a3a" stroke-width="4"/>`
    + `<circle cx="16" cy="16" r="${radius}" fill="none" stroke="#4caf50" stroke-width="4" stroke-dasharray="${filled.toFixed(2)} ${circumference.toFixed(2)}" transform="rotate(-90 16 16)"/>`
    + '</svg>';
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function percent(progress: number): number {
  return Math.round(Math.min(1, Math.max(0, progress)) * 100);
}
