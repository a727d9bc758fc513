// The logic the console pages share: a (cursor-)paged list, a create/edit dialog form, its choices, a look-up by id.
import { ElMessage } from 'element-plus'
import { reactive, ref } from 'vue'
import { listAll } from './api'
import { errorText, fieldErrors } from './errors'
import { allStores } from './stores'

// A list shown with a loading mask, an error alert and, when the API has more, a 「加载更多」 button.
//   fetchPage(extra) -> a page {items, next} (or a plain array: a list with no more pages); `extra` is {} for the
//     first page and {cursor} for the next ones, so a caller spreads it into its query last.
//   first() -> what load() fetches, when the first page comes with more (e.g. the options a table needs); it
//     defaults to fetchPage({}).
// Returns {items, next, loading, error, load, more}: load() replaces the items (its error goes to `error`), more()
// appends the next page (its error shows as a message).
export function usePagedList(fetchPage, { first = () => fetchPage({}) } = {}) {
  const items = ref([])
  const next = ref(null)
  const loading = ref(false)
  const error = ref('')
  const pageOf = (p) => (Array.isArray(p) ? { items: p, next: null } : { items: p.items, next: p.next ?? null })

  async function load() {
    loading.value = true
    error.value = ''
    try {
      const page = pageOf(await first())
      items.value = page.items
      next.value = page.next
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }

  async function more() {
    try {
      const page = pageOf(await fetchPage({ cursor: next.value }))
      items.value.push(...page.items)
      next.value = page.next
    } catch (e) {
      ElMessage.error(errorText(e))
    }
  }

  return { items, next, loading, error, load, more }
}

// A dialog's form: the fields `f`, the form's error `formError`, the API's field errors `fe` ({field: message},
// from fieldErrors), `saving` and `shown` (the dialog's v-model).
//   blank() -> the fields of a new record; open(values) resets the form to blank() with `values` over it (an edit),
//     clears the errors, shows the dialog, then awaits prepare() (loading the options) with its error in formError.
//   save() checks invalid(f) (a message, or '' when the form may be sent) first, then awaits submit(f) (the
//     requests); on success it shows `success` (a string, or f => string), hides the dialog and awaits done()
//     (usually the list's load); the API's error shows in formError and next to the fields.
export function useForm({ blank, invalid = () => '', prepare, submit, success, done = () => {} }) {
  const f = reactive(blank())
  const formError = ref('')
  const fe = ref({})
  const saving = ref(false)
  const shown = ref(false)

  async function open(values = {}) {
    Object.assign(f, blank(), values)
    formError.value = ''
    fe.value = {}
    shown.value = true
    if (!prepare) return
    try {
      await prepare()
    } catch (e) {
      formError.value = errorText(e)
    }
  }

  async function save() {
    formError.value = ''
    fe.value = {}
    const problem = invalid(f)
    if (problem) {
      formError.value = problem
      return
    }
    saving.value = true
    try {
      await submit(f)
      ElMessage.success(typeof success === 'function' ? success(f) : success)
      shown.value = false
      await done()
    } catch (e) {
      formError.value = errorText(e)
      fe.value = fieldErrors(e)
    } finally {
      saving.value = false
    }
  }

  return { f, formError, fe, saving, shown, open, save }
}

// The stores and products a form picks from: loadChoices() (a form's prepare) fetches both; with activeOnly the
// products taken off sale are left out.
export function useChoices({ activeOnly = false } = {}) {
  const stores = ref([])
  const products = ref([])

  async function loadChoices() {
    const [s, p] = await Promise.all([allStores(), listAll('/admin/products')])
    stores.value = s
    products.value = activeOnly ? p.filter((x) => x.active !== false) : p
  }

  return { stores, products, loadChoices }
}

// A record looked up by the id typed into `id`: find() asks fetchOne(encoded id) and puts the answer in `found`,
// or its error (or `emptyMessage` when no id was typed) in `error`; `loading` while it asks.
export function useLookup(fetchOne, emptyMessage) {
  const id = ref('')
  const found = ref(null)
  const error = ref('')
  const loading = ref(false)

  async function find() {
    error.value = ''
    found.value = null
    const key = id.value.trim()
    if (!key) {
      error.value = emptyMessage
      return
    }
    loading.value = true
    try {
      found.value = await fetchOne(encodeURIComponent(key))
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }

  return { id, found, error, loading, find }
}
