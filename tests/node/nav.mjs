// Waiting for the page that a click asks for, on proof and not on timing.
//
// page.waitForLoadState('load') returns at once while the old page is still shown, since that
// page's own load event has fired already, so next to a click it proves nothing. That such
// steps read the next page anyway is playwright-core's doing: its click waits for a navigation
// the click starts to commit, unless noWaitAfter, an option that "will default to true in the
// future" (its types.d.ts); a step that reads page.url() or the page's text should not rest on it.
//
// clickToPage(page, click) sets up, before the click, waits for the main frame's document
// response (the last one of any redirects) and for the commit of a new document in the main
// frame, runs click(), then waits for that new document's load event. It returns the response,
// so the caller can check the status and URL of the page it got; it works for a page at the
// same URL as the old one too (a form shown again with an error, the locked interstitial that
// POST /login renders in place), which page.waitForURL cannot tell from the old page.
export async function clickToPage(page, click, { timeout = 30000 } = {}) {
    const main = page.mainFrame();
    const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().isNavigationRequest() && r.frame() === main &&
                                    !(r.status() >= 300 && r.status() < 400), { timeout }),
        page.waitForEvent('framenavigated', { predicate: (f) => f === main, timeout }),
        click(),
    ]);
    // The commit of the new document cleared the old one's load states (playwright-core fires
    // its "remove" before the navigation event), so this waits for the new document.
    await page.waitForLoadState('load', { timeout });
    return response;
}
