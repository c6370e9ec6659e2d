with

source as (

    select * from {{ source('raw', 'sales') }}

),

renamed as (

    select

        ----------  ids
        transaction_id,
        store_id,
        sku,
        promo_id,

        ----------  dates
        sale_date,

        ----------  numerics
        units,
        unit_price,
        coalesce(discount_pct, 0)::decimal(5, 4) as discount_pct,
        revenue,

        ----------  lineage
        _source_file,
        _loaded_at

    from source

)

select * from renamed
