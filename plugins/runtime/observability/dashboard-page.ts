import type { UsageSummary } from './usage-summary';

/**
 * The built-in dashboard: one self-contained page (inline CSS, JS and SVG; nothing fetched from elsewhere). The first
 * summary is embedded; the script redraws it and refreshes it from /api/summary every 10 s.
 */
export function dashboardPage(summary: UsageSummary, nonce: string): string {
  const data = JSON.stringify(summary).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>LLM gateway — usage</title>
<style>${CSS}</style></head>
<body>
<header><h1>LLM gateway</h1><span id="window"></span>
<form method="post" action="logout"><button type="submit">Sign out</button></form></header>
<main>
<section class="tiles" id="tiles"></section>
<section class="grid">
<figure><figcaption>Requests and errors per minute</figcaption><div id="timeline"></div></figure>
<figure><figcaption>Spend by team (USD)</figcaption><div id="by-team"></div></figure>
<figure><figcaption>Spend by consumer (USD)</figcaption><div id="by-consumer"></div></figure>
<figure><figcaption>Spend by model (USD)</figcaption><div id="by-model"></div></figure>
<figure><figcaption>Rejections by reason</figcaption><div id="rejections"></div></figure>
<figure><figcaption>Tokens</figcaption><div id="tokens"></div></figure>
</section>
</main>
<script type="application/json" id="initial">${data}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>`;
}

export function loginPage(message: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>LLM gateway — sign in</title><style>${CSS}</style></head>
<body><main class="login"><h1>LLM gateway</h1>
<form method="post" action="login"><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form>
${message ? `<p class="error" role="alert">${message}</p>` : ''}</main></body></html>`;
}

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2430;--muted:#677285;--accent:#2f6fde;--bad:#d64545;--ok:#2e9e6b}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:16px;padding:12px 24px;background:var(--ink);color:#fff}
header h1{font-size:18px;margin:0}header #window{color:#c9d1de;flex:1}header button{background:transparent;color:#fff;border:1px solid #8792a6;border-radius:4px;padding:4px 10px;cursor:pointer}
main{padding:16px 24px}.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;margin-bottom:16px}
.tile{background:var(--card);border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tile .value{font-size:22px;font-weight:600;margin-top:4px;font-variant-numeric:tabular-nums}
.tile.bad .value{color:var(--bad)}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
figure{margin:0;background:var(--card);border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
figcaption{font-weight:600;margin-bottom:8px}svg text{font-size:11px;fill:var(--ink)}.empty{color:var(--muted)}
.login{max-width:320px;margin:15vh auto;background:var(--card);padding:24px;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.login label{display:block;margin:12px 0 4px}.login input{width:100%;padding:8px;border:1px solid #c5cbd5;border-radius:4px}
.login button{margin-top:12px;width:100%;padding:8px;background:var(--accent);color:#fff;border:0;border-radius:4px;cursor:pointer}.error{color:var(--bad)}
`;

// Plain browser JS (no build step): renders the summary into tiles and inline SVG bar charts.
const SCRIPT = `
(function(){
var NS='http://www.w3.org/2000/svg';
function el(tag,attrs,text){var e=document.createElementNS(NS,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e}
function usd(v){return '$'+(v<1?v.toFixed(6):v.toFixed(2))}
function int(v){return Math.round(v).toLocaleString('en-US')}
function ms(v){return v===null?'–':int(v)+' ms'}
function pct(v){return v===null?'–':(v*100).toFixed(1)+'%'}
function tiles(s){
  var rej=0;for(var k in s.rejections)rej+=s.rejections[k];
  var items=[['requests','Requests',int(s.requests)],['errors','Errors',int(s.errors),s.errors>0],['spend','Spend',usd(s.spend_usd)],
    ['tokens','Tokens',int(s.tokens.total)],['latency-p50','Latency p50',ms(s.latency_ms.p50)],['latency-p95','Latency p95',ms(s.latency_ms.p95)],
    ['ttft-p50','TTFT p50',ms(s.ttft_ms.p50)],['cache-hit-rate','Cache hit rate',pct(s.cache.hit_rate)],['cache-savings','Cache savings',usd(s.cache.savings_usd)],
    ['rejections','Rejections',int(rej),rej>0],['provider-errors','Provider errors',int(s.provider_errors),s.provider_errors>0],['fallbacks','Fallbacks',int(s.fallbacks)]];
  var box=document.getElementById('tiles');box.textContent='';
  items.forEach(function(i){var d=document.createElement('div');d.className='tile'+(i[3]?' bad':'');d.setAttribute('data-metric',i[0]);
    var l=document.createElement('div');l.className='label';l.textContent=i[1];var v=document.createElement('div');v.className='value';v.textContent=i[2];
    d.appendChild(l);d.appendChild(v);box.appendChild(d)});
}
function bars(id,rows,fmt){
  var box=document.getElementById(id);box.textContent='';
  if(!rows.length){var p=document.createElement('p');p.className='empty';p.textContent='no data yet';box.appendChild(p);return}
  rows=rows.slice(0,8);var max=Math.max.apply(null,rows.map(function(r){return r.value}))||1;var h=22,W=400,L=130;
  var svg=el('svg',{width:'100%',viewBox:'0 0 '+W+' '+rows.length*h,role:'img'});
  rows.forEach(function(r,i){var w=Math.max(1,(W-L-70)*r.value/max);var g=el('g',{'data-key':r.key,'data-value':String(r.value)});
    g.appendChild(el('text',{x:0,y:i*h+15},r.key.length>20?r.key.slice(0,19)+'…':r.key));
    g.appendChild(el('rect',{x:L,y:i*h+4,width:w,height:h-8,rx:3,fill:r.color||'#2f6fde'}));
    g.appendChild(el('text',{x:L+w+6,y:i*h+15},fmt(r.value)));svg.appendChild(g)});
  box.appendChild(svg);
}
function timeline(points){
  var box=document.getElementById('timeline');box.textContent='';
  if(!points.length){var p=document.createElement('p');p.className='empty';p.textContent='no data yet';box.appendChild(p);return}
  var W=400,H=120,max=Math.max.apply(null,points.map(function(p){return p.requests}))||1,bw=W/points.length;
  var svg=el('svg',{width:'100%',viewBox:'0 0 '+W+' '+(H+16),role:'img'});
  points.forEach(function(p,i){var h=H*p.requests/max,eh=H*p.errors/max;
    svg.appendChild(el('rect',{x:i*bw+1,y:H-h,width:Math.max(1,bw-2),height:h,fill:'#2f6fde'}));
    if(eh>0)svg.appendChild(el('rect',{x:i*bw+1,y:H-eh,width:Math.max(1,bw-2),height:eh,fill:'#d64545'}))});
  svg.appendChild(el('text',{x:0,y:H+13},points[0].t.slice(11,16)));
  svg.appendChild(el('text',{x:W,y:H+13,'text-anchor':'end'},points[points.length-1].t.slice(11,16)+' UTC'));
  box.appendChild(svg);
}
function spend(rows){return rows.map(function(r){return {key:r.key,value:r.usd}})}
function render(s){
  document.getElementById('window').textContent=s.window.events+' recent requests'+(s.window.from?' since '+s.window.from.replace('T',' ').slice(0,19)+' UTC':'');
  tiles(s);timeline(s.timeline);
  bars('by-team',spend(s.spend_by.team),usd);bars('by-consumer',spend(s.spend_by.consumer),usd);bars('by-model',spend(s.spend_by.model),usd);
  bars('rejections',Object.keys(s.rejections).map(function(k){return {key:k,value:s.rejections[k],color:'#d64545'}}),int);
  bars('tokens',[{key:'prompt',value:s.tokens.prompt},{key:'completion',value:s.tokens.completion},{key:'cached',value:s.tokens.cached,color:'#2e9e6b'}],int);
  document.body.setAttribute('data-rendered','true');
}
render(JSON.parse(document.getElementById('initial').textContent));
setInterval(function(){fetch('api/summary',{credentials:'same-origin'}).then(function(r){return r.ok?r.json():null}).then(function(s){if(s)render(s)}).catch(function(){})},10000);
})();
`;
