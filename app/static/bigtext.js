/* Before the first paint: the 大字 (large text) setting this phone chose on the pass page. */
try { if (localStorage.getItem('gatepass.big') === '1') document.documentElement.classList.add('big'); } catch (e) {}
